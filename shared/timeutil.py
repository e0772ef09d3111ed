"""UTC time helpers: naive UTC in the database, ISO 8601 with `Z` on the wire."""
from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Naive UTC now; DATETIME columns carry no zone, so we store UTC by rule."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def isoformat_z(value: dt.datetime | None) -> str | None:
    """`2026-01-02T03:04:05.678Z` for a naive-UTC or aware datetime."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"
