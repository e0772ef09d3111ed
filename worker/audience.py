"""Who may be reached while away, and how: notification preferences and
conversation mutes, read with a plain SQLAlchemy session (the worker has no
Flask app). The rules themselves are the API's (api/messaging/preferences.py)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from api.messaging.preferences import document_of
from shared.auth import Principal
from shared.models import NotificationPreference, Participant


def preferences_of(session: Session, principals: list[Principal]) -> dict[Principal, dict]:
    """Each principal's preferences document (the defaults when they stored none), in one query."""
    if not principals:
        return {}
    keys = [(p.role, p.id) for p in principals]
    rows = session.execute(
        select(NotificationPreference).where(
            tuple_(NotificationPreference.recipient_role, NotificationPreference.recipient_id).in_(keys)
        )
    ).scalars()
    stored = {Principal(r.recipient_role, r.recipient_id): r for r in rows}
    return {p: document_of(stored.get(p)) for p in principals}


def muted(session: Session, pairs: list[tuple[Principal, int]], at: dt.datetime) -> set[tuple[Principal, int]]:
    """Of (principal, conversation id) pairs, those muted at `at` (naive UTC), in one query."""
    if not pairs:
        return set()
    keys = [(p.role, p.id, conversation) for p, conversation in pairs]
    rows = session.execute(
        select(Participant.role, Participant.principal_id, Participant.conversation_id).where(
            tuple_(Participant.role, Participant.principal_id, Participant.conversation_id).in_(keys),
            Participant.muted_until > at,
        )
    )
    return {(Principal(role, pid), conversation) for role, pid, conversation in rows}
