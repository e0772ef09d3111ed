"""Mint development tokens: `python -m shared.tokens --role student --id 12`.

The token is signed with the configured JWT_SECRET (or, for RS/ES setups, the
private key given with --private-key), so it is accepted by the API and the
gateway running with the same environment.
"""
from __future__ import annotations

import argparse

from shared.auth import mint_token
from shared.config import ROLES, load_or_exit


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.tokens", description=__doc__.splitlines()[0])
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--id", required=True, type=int, dest="principal_id")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    parser.add_argument("--private-key", help="PEM private key file, for RS*/ES* configurations")
    args = parser.parse_args(argv)
    if args.principal_id <= 0:
        parser.error("--id must be a positive integer")
    config = load_or_exit()
    key = None
    if args.private_key:
        with open(args.private_key, encoding="utf-8") as fh:
            key = fh.read()
    try:
        print(mint_token(config, args.role, args.principal_id, ttl=args.ttl, private_key=key))
    except ValueError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    main()
