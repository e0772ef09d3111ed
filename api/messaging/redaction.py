"""Every copy of a message's text follows its edits and its delete, in the same transaction.

A message's text is copied into the event log (`message:created`,
`message:updated`, `message:deleted`; `broadcast:created`, and the
`notification:created`/`notification:updated` of a broadcast or a message)
and into notifications: a broadcast's holds its text, a message's (coalesced)
notification a preview of its latest message. Those rows carry `message_id`
(a coalesced notification the id of its latest message, each of its events
the message it announced). `GET /events` and the gateway's replay read the
log, so after an edit or a delete each copy is rewritten to what the message
says now: the current body or its preview, or none. Nothing else copies it:
a thread reply holds only the parent's id, a conversation's `last_message`
is read from the message row, search matches the row.
"""
from __future__ import annotations

import json

from sqlalchemy import case, select, update

from api.extensions import db
from api.messaging.notifying import COALESCED, preview
from api.messaging.schemas import message_out
from shared.events import dumps
from shared.models import Event, Message, Notification

# Events whose data is the message itself, and events that copy its body into a `body` field.
MESSAGE_TYPES = frozenset({"message:created", "message:updated", "message:deleted"})
BODY_COPY_TYPES = frozenset({"broadcast:created", "notification:created", "notification:updated"})


def _rewritten(type_: str, data: dict, message: dict) -> dict:
    if type_ in MESSAGE_TYPES:
        return message
    if type_ in BODY_COPY_TYPES and data.get("body") is not None:
        return {**data, "body": preview(message["body"]) if data.get("type") in COALESCED else message["body"]}
    return data


def rewrite_copies(message: Message) -> None:
    """Rewrite the logged events and notifications that copy `message`'s text
    (call after changing it, before logging the change's own event)."""
    current = message_out.dump(message)
    changed = []
    for event_id, type_, data in db.session.execute(
        select(Event.id, Event.type, Event.data).where(Event.message_id == message.id)
    ):
        new = dumps(_rewritten(type_, json.loads(data), current))
        if new != data:
            changed.append({"id": event_id, "data": new})
    if changed:
        db.session.execute(update(Event), changed)
    db.session.execute(
        update(Notification)
        .where(Notification.message_id == message.id, Notification.body.is_not(None))
        .values(body=case((Notification.type.in_(COALESCED), preview(current["body"])), else_=current["body"]))
    )
