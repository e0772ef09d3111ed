"""In-app notifications: one row per recipient plus its live event; unread counts.

Written in the caller's transaction, so a notification exists exactly when
the change that caused it committed.
"""
from __future__ import annotations

from sqlalchemy import func, select

from api.extensions import db
from api.messaging.schemas import notification_out
from api.outbox import record
from shared import rooms
from shared.auth import Principal
from shared.models import Notification


def notify(
    recipient: Principal,
    type_: str,
    title: str,
    body: str | None = None,
    link: str | None = None,
    data: dict | None = None,
    defer_event: bool = False,
    message_id: int | None = None,
) -> Notification:
    """Create a notification for `recipient` and its `notification:created` event.

    `defer_event`: the event row waits for the commit, to share one INSERT
    with the transaction's other deferred events (`record_event(flush=False)`).
    `message_id`: the message it is about; a `body` copied from it follows its edits and delete.
    """
    row = Notification(
        recipient_role=recipient.role,
        recipient_id=recipient.id,
        type=type_,
        title=title[:200],
        body=body,
        link=link,
        data=data,
        message_id=message_id,
    )
    db.session.add(row)
    db.session.flush()
    record(rooms.personal(recipient), "notification:created", notification_out.dump(row), flush=not defer_event,
           message_id=message_id)
    return row


def mine(principal: Principal) -> tuple:
    """SQL conditions: notifications addressed to `principal`."""
    return (Notification.recipient_role == principal.role, Notification.recipient_id == principal.id)


def unread_notifications(principal: Principal) -> int:
    query = select(func.count()).select_from(Notification).where(*mine(principal), Notification.read_at.is_(None))
    return db.session.execute(query).scalar_one()
