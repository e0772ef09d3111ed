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

from sqlalchemy import case, delete, func, select, update

from api import audit_trail
from api.extensions import db
from api.messaging.access import live_conversation, lock_conversation, room_event, visible_conversation
from api.messaging.notifying import COALESCED, preview
from api.messaging.schemas import deleted_out, message_out
from shared.auth import Principal
from shared.errors import Forbidden, NotFound
from shared.events import dumps
from shared.models import Event, Message, Notification, Reaction
from shared.timeutil import utcnow

# Events whose data is the message itself, and events that copy its body into a `body` field.
MESSAGE_TYPES = frozenset({"message:created", "message:updated", "message:deleted"})
BODY_COPY_TYPES = frozenset({"broadcast:created", "notification:created", "notification:updated"})
ERASED_FIELDS = ("type", "title", "deleted_at")


def _rewritten(type_: str, data: dict, message: dict) -> dict:
    if type_ in MESSAGE_TYPES:
        return message
    if type_ in BODY_COPY_TYPES and data.get("body") is not None:
        return {**data, "body": preview(message["body"]) if data.get("type") in COALESCED else message["body"]}
    return data


def _rewrite_events(message_ids, current: dict[int, dict]) -> None:
    """Rewrite the logged events of these messages (`message_ids`: a list or a subquery) to `current[id]`."""
    changed = []
    for event_id, message_id, type_, data in db.session.execute(
        select(Event.id, Event.message_id, Event.type, Event.data).where(Event.message_id.in_(message_ids))
    ):
        new = dumps(_rewritten(type_, json.loads(data), current[message_id]))
        if new != data:
            changed.append({"id": event_id, "data": new})
    if changed:
        db.session.execute(update(Event), changed)


def rewrite_copies(message: Message) -> None:
    """Rewrite the logged events and notifications that copy `message`'s text
    (call after changing it, before logging the change's own event)."""
    current = message_out.dump(message)
    _rewrite_events([message.id], {message.id: current})
    _rewrite_notifications(Notification.message_id == message.id, current["body"])


def _rewrite_notifications(which, body: str | None) -> None:
    """A broadcast's notification copies the text; a message's (coalesced) one its preview."""
    db.session.execute(
        update(Notification)
        .where(which, Notification.body.is_not(None))
        .values(body=case((Notification.type.in_(COALESCED), preview(body)), else_=body))
    )


def erase_conversation(conversation_id: int, actor: Principal) -> None:
    """An admin deletes a conversation for everyone: every message's text is
    cleared like a deleted message's (rows, logged events, notifications),
    reactions go, and the conversation leaves every list (404 from then on).
    The pair of a direct conversation may open a new one."""
    if not actor.is_admin:
        visible_conversation(conversation_id, actor)  # 404 for outsiders, before saying who may
        raise Forbidden("only an admin deletes a conversation for everyone", code="admin_only")
    if live_conversation(conversation_id) is None:
        raise NotFound("conversation not found", code="conversation_not_found")
    conversation = lock_conversation(conversation_id)
    now = utcnow()
    ids = select(Message.id).where(Message.conversation_id == conversation.id).scalar_subquery()
    db.session.execute(
        update(Message).where(Message.conversation_id == conversation.id)
        .values(body="", deleted_at=func.coalesce(Message.deleted_at, now)).execution_options(synchronize_session=False)
    )
    db.session.execute(delete(Reaction).where(Reaction.message_id.in_(ids)))
    messages = db.session.execute(
        select(Message).where(Message.conversation_id == conversation.id).execution_options(populate_existing=True)
    ).scalars()
    current = {m.id: message_out.dump(m) for m in messages}
    if current:
        _rewrite_events(ids, current)
        _rewrite_notifications(Notification.message_id.in_(ids), None)
    before = audit_trail.snapshot(conversation, ERASED_FIELDS)
    conversation.deleted_at, conversation.direct_key = now, None
    # Moderation leaves a trace: who erased which conversation, and when (GET /audit?entity=conversation).
    audit_trail.record_change("conversation", conversation.id, "deleted", before,
                              audit_trail.snapshot(conversation, ERASED_FIELDS), actor=actor)
    data = {"conversation_id": conversation.id, "scope": "everyone", "deleted_by": actor.as_dict()}
    room_event(conversation, "conversation:deleted", deleted_out.dump(data))
