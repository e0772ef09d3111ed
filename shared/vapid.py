"""VAPID keys for Web Push (RFC 8292): `python -m shared.vapid --out vapid.pem`
writes a fresh P-256 private key; the API serves its public half to browsers
(`applicationServerKey`), the delivery worker signs each push with it."""
from __future__ import annotations

import argparse
import base64
import os
import sys

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid  # type: ignore[import-untyped]  # ships no types


def load(path: str) -> Vapid:
    """The key in a PEM file written by this module (or `openssl ecparam -name prime256v1 -genkey`)."""
    return Vapid.from_file(private_key_file=path)


def public_key(vapid: Vapid) -> str:
    """The uncompressed public point, URL-safe base64 without padding, as `pushManager.subscribe` takes it."""
    raw = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def write_new(path: str) -> Vapid:
    """A new key pair, its private key in `path` (readable by its owner only)."""
    vapid = Vapid()
    vapid.generate_keys()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    vapid.save_key(path)
    return vapid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.vapid", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="vapid.pem", help="the private key file to write (refused if it exists)")
    args = parser.parse_args(argv)
    try:
        vapid = write_new(args.out)
    except FileExistsError:
        print(f"{args.out} exists: not overwriting a key browsers have subscribed with", file=sys.stderr)
        return 1
    print(f"wrote {args.out}; set VAPID_PRIVATE_KEY_FILE={os.path.abspath(args.out)}")
    print(f"public key: {public_key(vapid)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
