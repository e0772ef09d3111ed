"""Admin broadcasts: who the audience is, and the broadcast itself.

The system owns no user accounts, so "everyone" means every principal that
appears in any table (as mentor, student, sender, recipient, actor...).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import literal, select, union

from api.extensions import db
from api.messaging.access import room_event
from api.messaging.membership import add_participants
from api.messaging.notifying import notify_many
from api.messaging.schemas import broadcast_event_out, message_out
from api.outbox import record
from shared import rooms
from shared.auth import Principal
from shared.models import (
    Activity,
    Block,
    Conversation,
    Goal,
    MentorProfile,
    Message,
    Notification,
    Participant,
    Relationship,
    StudentNeeds,
)

AUDIENCE_ROLES = {"all": ("mentor", "student", "admin"), "mentors": ("mentor",), "students": ("student",)}


def _principal_columns():
    """(role, id) column pairs of every table that names a person."""
    return [
        (literal("mentor"), MentorProfile.mentor_id),
        (literal("student"), StudentNeeds.student_id),
        (literal("mentor"), Relationship.mentor_id),
        (literal("student"), Relationship.student_id),
        (Relationship.ended_by_role, Relationship.ended_by_id),
        (Participant.role, Participant.principal_id),
        (Message.sender_role, Message.sender_id),
        (Notification.recipient_role, Notification.recipient_id),
        (Block.blocker_role, Block.blocker_id),
        (Block.blocked_role, Block.blocked_id),
        (Goal.created_by_role, Goal.created_by_id),
        (Activity.actor_role, Activity.actor_id),
        (Conversation.owner_role, Conversation.owner_id),
    ]


def known_principals(roles: tuple[str, ...]) -> list[Principal]:
    selects = [
        select(role.label("role"), pid.label("pid")).where(role.in_(roles), pid.is_not(None))
        for role, pid in _principal_columns()
    ]
    rows = db.session.execute(union(*selects)).all()
    return sorted(Principal(role, pid) for role, pid in rows)


@dataclass
class Broadcast:
    """What a broadcast sent (BroadcastOut)."""

    conversation_id: int
    message_id: int
    audience: str
    title: str
    body: str
    sender: Principal
    created_at: dt.datetime
    recipients: int


def broadcast(sender: Principal, audience: str, title: str, body: str) -> Broadcast:
    """A broadcast conversation with one message, a notification per recipient
    and one `broadcast:created` event in the audience's room. The recipients
    are its read-only participants: it is in their list, unread until read."""
    recipients = [p for p in known_principals(AUDIENCE_ROLES[audience]) if p != sender]
    conversation = Conversation(type="broadcast", title=title, owner_role=sender.role, owner_id=sender.id)
    db.session.add(conversation)
    db.session.flush()
    add_participants(conversation, [sender])
    db.session.add_all([Participant(conversation_id=conversation.id, role=r.role, principal_id=r.id, read_only=True)
                        for r in recipients])
    message = Message(conversation_id=conversation.id, sender_role=sender.role, sender_id=sender.id, body=body,
                      reply_count=0, attachments=[])
    db.session.add(message)
    db.session.flush()
    conversation.last_message_id, conversation.last_activity_at = message.id, message.created_at
    room_event(conversation, "message:created", message_out.dump(message), message_id=message.id)
    data = {"conversation_id": conversation.id, "message_id": message.id, "audience": audience}
    notify_many(recipients, "broadcast", title, body=body, link=f"/conversations/{conversation.id}", data=data,
                message_id=message.id)
    sent = Broadcast(conversation.id, message.id, audience, title, body, sender, message.created_at, len(recipients))
    record(rooms.audience(audience), "broadcast:created", broadcast_event_out.dump(sent), message_id=message.id)
    return sent
