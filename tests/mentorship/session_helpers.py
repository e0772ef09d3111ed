"""Helpers for the session tests: times on the wire, scheduling, reading the database."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from api.extensions import db
from shared.models import AuditEntry, Event, Notification, Session, SessionAttendee, SessionReminder
from shared.timeutil import utcnow
from tests.mentorship.conftest import MENTOR


def at(hours: float = 0, minutes: float = 0, base: dt.datetime | None = None) -> dt.datetime:
    """Naive UTC, whole seconds, `hours` from now."""
    return ((base or utcnow()) + dt.timedelta(hours=hours, minutes=minutes)).replace(microsecond=0)


def wire(value: dt.datetime, offset: str = "Z") -> str:
    """A naive-UTC time as ISO 8601 with the given offset written in (`Z`, `+02:00`)."""
    if offset == "Z":
        return value.isoformat() + "Z"
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    local = value + sign * dt.timedelta(hours=hours, minutes=minutes)
    return local.isoformat() + offset


def z(value: dt.datetime) -> str:
    """How the API writes a time: milliseconds and Z."""
    return value.isoformat(timespec="milliseconds") + "Z"


def body(start: dt.datetime, hours: float = 1, **extra) -> dict:
    return {"title": "Weekly check-in", "starts_at": wire(start), "ends_at": wire(start + dt.timedelta(hours=hours)),
            **extra}


def schedule(api, rel, start: dt.datetime | None = None, who=MENTOR, hours: float = 1, **extra) -> dict:
    start = start or at(hours=48)
    return api.ok(api.post("/sessions", who, json=body(start, hours, relationship_id=rel["id"], **extra)), 201)


def count(app, model, *where) -> int:
    with app.app_context():
        try:
            return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
        finally:
            db.session.remove()


def rows(app, stmt) -> list:
    with app.app_context():
        try:
            return list(db.session.execute(stmt).all())
        finally:
            db.session.remove()


def written(app) -> dict[str, int]:
    """Row counts of everything a session change writes: a refused request leaves them all as they were."""
    return {m.__tablename__: count(app, m) for m in (Session, SessionAttendee, SessionReminder, Event, Notification,
                                                     AuditEntry)}
