"""Notification preferences: which types a principal wants, and how to reach them when away.

Types are coarse: a notification's type maps to the preference that governs
it (`relationship_accepted` -> `relationship`, `session_reminder` ->
`session`); a type no preference names is always delivered. No stored row
means the defaults: every type on, `push` on, a `daily` email digest, no
quiet hours. Quiet hours hold back push and email only (the delivery to
people who are away asks `in_quiet_hours`); in-app notifications and their
events still arrive.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from api.extensions import db
from shared.auth import Principal
from shared.models import NotificationPreference

TYPES = ("message", "mention", "relationship", "session", "broadcast")
DEFAULTS = {"push": True, "email": "daily", "quiet_hours": None}


def preference_type(notification_type: str) -> str | None:
    """The preference that governs a notification type, or None (always delivered)."""
    if notification_type in TYPES:
        return notification_type
    prefix = notification_type.partition("_")[0]
    return prefix if prefix in TYPES else None


def _switch(type_: str):
    return getattr(NotificationPreference, f"{type_}_on")


def _row(principal: Principal) -> NotificationPreference | None:
    return db.session.get(NotificationPreference, (principal.role, principal.id))


def wants(principal: Principal, notification_type: str) -> bool:
    """Whether `principal` takes notifications of this type (one query, none for ungoverned types)."""
    type_ = preference_type(notification_type)
    if type_ is None:
        return True
    off = select(NotificationPreference.recipient_id).where(
        NotificationPreference.recipient_role == principal.role,
        NotificationPreference.recipient_id == principal.id, _switch(type_).is_(False),
    )
    return db.session.execute(off).first() is None


def turned_off(notification_type: str) -> set[Principal]:
    """Everyone who turned this type off (for a notification to many, one query)."""
    type_ = preference_type(notification_type)
    if type_ is None:
        return set()
    rows = db.session.execute(
        select(NotificationPreference.recipient_role, NotificationPreference.recipient_id)
        .where(_switch(type_).is_(False))
    )
    return {Principal(role, pid) for role, pid in rows}


def wanted_by(role_column, id_column, type_: str):
    """SQL, correlated to the principal in (`role_column`, `id_column`): they take `type_`."""
    return ~exists().where(
        NotificationPreference.recipient_role == role_column, NotificationPreference.recipient_id == id_column,
        _switch(type_).is_(False),
    )


def as_document(principal: Principal) -> dict:
    """The caller's preferences as `GET /notifications/preferences` shows them."""
    return document_of(_row(principal))


def document_of(row: NotificationPreference | None) -> dict:
    """A stored row (None: the defaults) as a preferences document; the delivery worker reads rows itself."""
    if row is None:
        return {"types": dict.fromkeys(TYPES, True), **DEFAULTS, "updated_at": None}
    quiet = None
    if row.quiet_start is not None:
        quiet = {"start": row.quiet_start, "end": row.quiet_end, "timezone": row.quiet_timezone}
    return {"types": {t: getattr(row, f"{t}_on") for t in TYPES}, "push": row.push, "email": row.email,
            "quiet_hours": quiet, "updated_at": row.updated_at}


def replace(principal: Principal, document: dict) -> None:
    """Store the whole of `document` (what it leaves out takes the default)."""
    types = document.get("types", {})
    quiet = document.get("quiet_hours", DEFAULTS["quiet_hours"]) or {}
    values = {
        **{f"{t}_on": types.get(t, True) for t in TYPES},
        "push": document.get("push", DEFAULTS["push"]), "email": document.get("email", DEFAULTS["email"]),
        "quiet_start": quiet.get("start"), "quiet_end": quiet.get("end"), "quiet_timezone": quiet.get("timezone"),
    }
    row = _row(principal)
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(NotificationPreference(recipient_role=principal.role, recipient_id=principal.id,
                                                      **values))
            return
        except IntegrityError:
            row = _row(principal)  # a concurrent first PUT created it: this one overwrites it
    for name, value in values.items():
        setattr(row, name, value)


def in_quiet_hours(document: dict, at: dt.datetime) -> bool:
    """Whether `at` (naive UTC) falls in the quiet hours of a preferences document.
    A window whose end is before its start runs past midnight (22:00-07:00)."""
    quiet = document.get("quiet_hours")
    if not quiet:
        return False
    local = at.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(quiet["timezone"])).strftime("%H:%M")
    start, end = quiet["start"], quiet["end"]
    return start <= local < end if start < end else local >= start or local < end

