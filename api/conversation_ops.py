"""Creating conversations, shared by the messaging and mentorship blueprints."""
from __future__ import annotations

from api.extensions import db
from api.outbox import request_id
from shared import rooms
from shared.auth import Principal
from shared.events import record_event
from shared.models import Conversation, Participant, Relationship
from shared.timeutil import isoformat_z


def conversation_summary(conversation: Conversation, members: list[Principal]) -> dict:
    """The data of `conversation:created` / `participant:*` events."""
    return {
        "id": conversation.id,
        "type": conversation.type,
        "title": conversation.title,
        "relationship_id": conversation.relationship_id,
        "participants": [m.as_dict() for m in members],
        "created_at": isoformat_z(conversation.created_at),
    }


def add_participants(conversation: Conversation, members: list[Principal]) -> list[Participant]:
    rows = [Participant(conversation_id=conversation.id, role=m.role, principal_id=m.id) for m in members]
    db.session.add_all(rows)
    db.session.flush(rows)
    return rows


def announce_conversation(conversation: Conversation, members: list[Principal]) -> None:
    """`conversation:created` to each member's personal room (the gateway then
    joins their sockets to `conversation:<id>` without a reconnect)."""
    data = conversation_summary(conversation, members)
    for member in members:
        record_event(db.session, rooms.personal(member), "conversation:created", data, request_id=request_id())


def open_mentorship_conversation(relationship: Relationship) -> Conversation:
    """The pair's conversation, created in the caller's transaction when a
    relationship becomes active; returns the existing one if there is one."""
    existing = db.session.query(Conversation).filter_by(relationship_id=relationship.id).one_or_none()
    if existing is not None:
        return existing
    conversation = Conversation(type="mentorship", relationship_id=relationship.id, title=None)
    db.session.add(conversation)
    db.session.flush([conversation])
    members = [Principal("mentor", relationship.mentor_id), Principal("student", relationship.student_id)]
    add_participants(conversation, members)
    announce_conversation(conversation, members)
    return conversation
