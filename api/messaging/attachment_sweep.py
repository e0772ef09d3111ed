"""Sweep uploads never sent: `python -m api.messaging.attachment_sweep [--older-than SECONDS]` (for cron
or the periodic-job runner, which calls `sweep_unattached(now)` itself).

An upload that no message took within ATTACHMENT_UNATTACHED_SECONDS
(default a day) is deleted, its row and then its files.
"""
from __future__ import annotations

import argparse
import datetime as dt

from api import create_app
from api.messaging.attaching import sweep_unattached
from shared.timeutil import utcnow


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api.messaging.attachment_sweep",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--older-than", type=int, default=None, metavar="SECONDS",
                        help="age of the uploads to remove (default ATTACHMENT_UNATTACHED_SECONDS)")
    args = parser.parse_args(argv)
    if args.older_than is not None and args.older_than < 0:
        parser.error("--older-than must be >= 0")
    app = create_app()
    with app.app_context():
        age = dt.timedelta(seconds=args.older_than) if args.older_than is not None else None
        print(f"removed {sweep_unattached(utcnow(), age)} unsent upload(s)")


if __name__ == "__main__":
    main()
