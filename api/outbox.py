"""Events of a transaction: recorded with the change, published once it has committed.

Views and logic record events with `record` inside the same transaction as the
change; the hooks below hand them to the app's publisher after commit and
forget them on rollback, so nothing uncommitted is ever published.
"""
from __future__ import annotations

from flask import current_app, g, has_request_context
from sqlalchemy import event

from api.extensions import db
from shared.events import record_event, take_outbox


@event.listens_for(db.session, "after_commit")
def _publish_after_commit(session) -> None:
    envelopes = take_outbox(session)
    if envelopes:
        current_app.extensions["publisher"].publish(envelopes)


@event.listens_for(db.session, "after_rollback")
def _forget_on_rollback(session) -> None:
    take_outbox(session)


def request_id() -> str | None:
    """The current request's id, to stamp on the events it causes."""
    return g.get("request_id") if has_request_context() else None


def record(
    room: str, type_: str, data: dict, seq: int | None = None, flush: bool = True, message_id: int | None = None
) -> dict | None:
    """Log an event in the current transaction, stamped with the request id; its envelope.
    `message_id`: the message whose text `data` copies (api/messaging/redaction.py)."""
    return record_event(
        db.session, room, type_, data, seq=seq, request_id=request_id(), flush=flush, message_id=message_id
    )
