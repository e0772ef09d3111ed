"""Prune the event log: `python -m shared.prune [--days 7]` (for cron).

Events older than N days are deleted in batches so a large backlog does not
hold long locks. Clients that were away longer than that get `resync` and
reload over REST.
"""
from __future__ import annotations

import argparse
import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from shared.config import load_or_exit
from shared.db import make_engine
from shared.models import Event
from shared.timeutil import utcnow


def prune_events(engine: Engine, days: int, batch: int = 5000) -> int:
    """Delete events older than `days`; returns how many were deleted."""
    cutoff = utcnow() - dt.timedelta(days=days)
    total = 0
    while True:
        with engine.begin() as conn:
            ids = conn.execute(
                select(Event.id).where(Event.created_at < cutoff).order_by(Event.id).limit(batch)
            ).scalars().all()
            if not ids:
                return total
            conn.execute(delete(Event).where(Event.id.in_(ids)))
            total += len(ids)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.prune", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7, help="keep this many days of events (default 7)")
    args = parser.parse_args(argv)
    if args.days < 0:
        parser.error("--days must be >= 0")
    engine = make_engine(load_or_exit().database_url)
    try:
        print(f"pruned {prune_events(engine, args.days)} event(s) older than {args.days} day(s)")
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
