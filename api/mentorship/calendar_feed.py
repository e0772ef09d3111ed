"""The calendar feed: a secret token per principal, and their sessions as iCalendar (RFC 5545).

Calendar apps fetch a URL and send no headers, so the token in the URL is
the whole credential: 256 random bits, shown once, stored only as its
SHA-256 (a leaked table does not leak feeds), replaced on rotation (the old
URL stops working at once). Events are in UTC (`DTSTART:...Z`), keyed by a
UID that never changes (`session-<id>@<CALENDAR_UID_DOMAIN>`), with
SEQUENCE counting changes so apps replace their copy, and STATUS:CANCELLED
for cancelled sessions so apps strike them out instead of keeping them.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

import icalendar
from sqlalchemy import select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from api.auth import app_config
from api.extensions import db
from api.mentorship.scheduling import involving
from shared.auth import Principal
from shared.errors import NotFound
from shared.models import CalendarFeed, Session
from shared.timeutil import utcnow

TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
PAST, AHEAD = dt.timedelta(days=30), dt.timedelta(days=365)
MAX_EVENTS = 2000


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def issue_token(principal: Principal) -> tuple[str, dt.datetime]:
    """A new feed token for the principal, replacing any earlier one; (token, created_at)."""
    token, now = secrets.token_urlsafe(32), utcnow()
    values = {"role": principal.role, "principal_id": principal.id, "token_hash": _digest(token), "created_at": now}
    if db.session.get_bind().dialect.name == "sqlite":
        stmt = sqlite_insert(CalendarFeed).values(**values)
        stmt = stmt.on_conflict_do_update(index_elements=["role", "principal_id"],
                                          set_={"token_hash": values["token_hash"], "created_at": now})
    else:
        stmt = mysql_insert(CalendarFeed).values(**values)
        stmt = stmt.on_duplicate_key_update(token_hash=values["token_hash"], created_at=now)
    db.session.execute(stmt)
    return token, now


def feed_owner(token: str) -> Principal:
    """Whose feed the token opens; 404 for anything else (no hint whether it ever existed)."""
    missing = NotFound("calendar feed not found", code="calendar_not_found")
    if not TOKEN_SHAPE.fullmatch(token):
        raise missing
    digest = _digest(token)
    row = db.session.execute(select(CalendarFeed).where(CalendarFeed.token_hash == digest)).scalar_one_or_none()
    # The lookup is by hash, so its timing says nothing about the token; compare in constant time anyway.
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise missing
    return Principal(row.role, row.principal_id)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc)


def _event(session: Session, domain: str, stamp: dt.datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"session-{session.id}@{domain}")
    event.add("dtstamp", stamp)
    event.add("dtstart", _utc(session.starts_at))
    event.add("dtend", _utc(session.ends_at))
    event.add("sequence", session.sequence)
    event.add("created", _utc(session.created_at))
    event.add("last-modified", _utc(session.updated_at))
    event.add("summary", session.title)
    description = session.description or ""
    if session.status == "cancelled":
        event.add("status", "CANCELLED")
        description = f"Cancelled: {session.cancel_reason}\n\n{description}".strip()
    else:
        event.add("status", "CONFIRMED")
    if description:
        event.add("description", description)
    if session.location:
        event.add("location", session.location)
        if session.location.startswith(("https://", "http://")):
            event.add("url", session.location)
    return event


def build_feed(principal: Principal) -> bytes:
    """The principal's sessions (host or attendee) from 30 days ago to a year ahead, as an .ics file."""
    now = utcnow()
    stmt = (
        select(Session)
        .where(involving(principal), Session.ends_at > now - PAST, Session.starts_at < now + AHEAD)
        .order_by(Session.starts_at, Session.id)
        .limit(MAX_EVENTS)
    )
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Mentorship//Sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "Mentoring sessions")
    domain, stamp = app_config().calendar_uid_domain, _utc(now.replace(microsecond=0))
    for session in db.session.execute(stmt).scalars():
        calendar.add_component(_event(session, domain, stamp))
    return calendar.to_ical()
