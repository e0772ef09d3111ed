"""Publish the events of a transaction once it has committed.

Views record events with `shared.events.record_event` inside the same
transaction as the change; this hook hands them to the app's publisher after
commit and forgets them on rollback, so nothing uncommitted is ever published.
"""
from flask import current_app, g, has_request_context
from sqlalchemy import event

from api.extensions import db
from shared.events import take_outbox


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
