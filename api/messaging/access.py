"""Who may see and write what in messaging: the lookups that answer 404 + permission,
the conversation lock, and the events of a conversation's room.

Visibility in one sentence: a principal sees a conversation while they have a
participant row in it; a former participant (`left_at` set) keeps read access
to the messages up to `left_message_id` and can no longer write.
"""
from __future__ import annotations

import functools

from sqlalchemy import and_, bindparam, exists, false, func, or_, select
from sqlalchemy.orm.attributes import set_committed_value

from api.extensions import db
from api.outbox import record
from api.schemas import MAX_ID
from shared import rooms
from shared.auth import Principal
from shared.errors import Forbidden, NotFound
from shared.models import Block, Conversation, Message, Participant, Relationship


def member_of(row) -> Principal:
    return Principal(row.role, row.principal_id)


def sender_of(message: Message) -> Principal:
    return Principal(message.sender_role, message.sender_id)


def participant_row(conversation_id: int, principal: Principal) -> Participant | None:
    return db.session.execute(
        select(Participant).where(
            Participant.conversation_id == conversation_id,
            Participant.role == principal.role,
            Participant.principal_id == principal.id,
        )
    ).scalar_one_or_none()


def live_conversation(conversation_id: int) -> Conversation | None:
    """The conversation unless it does not exist or an admin deleted it for everyone."""
    conversation = db.session.get(Conversation, conversation_id) if conversation_id <= MAX_ID else None
    return conversation if conversation is not None and conversation.deleted_at is None else None


def visible_conversation(conversation_id: int, principal: Principal) -> tuple[Conversation, Participant]:
    """The conversation and the caller's membership; 404 for everyone else."""
    conversation = live_conversation(conversation_id)
    me = participant_row(conversation.id, principal) if conversation else None
    if me is None:
        raise NotFound("conversation not found", code="conversation_not_found")
    return conversation, me


def require_active(me: Participant) -> None:
    if me.left_at is not None:
        raise Forbidden("you are no longer a participant of this conversation", code="not_a_participant")


def can_see(me: Participant | None, message_id: int) -> bool:
    if me is None or message_id <= (me.cleared_message_id or 0):
        return False
    return me.left_at is None or (me.left_message_id is not None and message_id <= me.left_message_id)


def visible_message_clause(role: str, principal_id: int):
    """SQL condition joined on `Participant`: the caller may read `Message`."""
    return and_(
        Participant.conversation_id == Message.conversation_id,
        Participant.role == role,
        Participant.principal_id == principal_id,
        or_(Participant.left_at.is_(None), Message.id <= Participant.left_message_id),
        Message.id > func.coalesce(Participant.cleared_message_id, 0),
    )


def visible_message(message_id: int, principal: Principal) -> tuple[Message, Participant | None]:
    """A message the caller can read (admins: any message, for moderation)."""
    message = db.session.get(Message, message_id) if message_id <= MAX_ID else None
    me = participant_row(message.conversation_id, principal) if message else None
    if message is None or not (can_see(me, message.id) or principal.is_admin):
        raise NotFound("message not found", code="message_not_found")
    return message, me


def lock_conversation(conversation_id: int) -> Conversation:
    """Row-lock the conversation: serialises writers so `last_seq` (and the
    message order) advance by exactly one per event."""
    return db.session.execute(
        select(Conversation).where(Conversation.id == conversation_id).with_for_update().execution_options(
            populate_existing=True
        )
    ).scalar_one()


@functools.cache
def _progress_lock():
    return (select(Conversation.last_seq, Conversation.last_message_id)
            .where(Conversation.id == bindparam("conversation_id")).with_for_update())


def lock_progress(conversation: Conversation) -> Conversation:
    """`lock_conversation` for a writer that already holds the row: lock it and
    re-read only what writers advance under the lock (`last_seq`,
    `last_message_id`), two columns instead of the whole row (the send path:
    pymysql parses every column's description in Python)."""
    seq, last = db.session.connection().execute(_progress_lock(), {"conversation_id": conversation.id}).one()
    set_committed_value(conversation, "last_seq", seq)
    set_committed_value(conversation, "last_message_id", last)
    return conversation


def room_event(
    conversation: Conversation, type_: str, data: dict, flush: bool = True, message_id: int | None = None
) -> dict | None:
    """An event in `conversation:<id>` with the next seq; the row must be locked."""
    conversation.last_seq = (conversation.last_seq or 0) + 1
    return record(rooms.conversation(conversation.id), type_, data, seq=conversation.last_seq, flush=flush,
                  message_id=message_id)


# Conversations of one pair: a mentor and a student write in these only while
# they share a pending or active relationship (403 `relationship_closed`).
PAIR_TYPES = ("direct", "mentorship")
OPEN_STATUSES = ("pending", "active")


def pair_needs_relationship(sender: Principal, other: Principal) -> bool:
    return {sender.role, other.role} == {"mentor", "student"}


def open_relationship_with(role: str, sender_id):
    """SQL, correlated to `Participant`: it is the other side of a pending or
    active relationship of the sender's (false for senders who are neither
    mentor nor student). `sender_id` is a value or a bind parameter."""
    if role == "mentor":
        pair = and_(Relationship.mentor_id == sender_id, Participant.role == "student",
                    Relationship.student_id == Participant.principal_id)
    elif role == "student":
        pair = and_(Relationship.student_id == sender_id, Participant.role == "mentor",
                    Relationship.mentor_id == Participant.principal_id)
    else:
        return false()
    return exists().where(pair, Relationship.status.in_(OPEN_STATUSES))


def personal_event(principal: Principal, type_: str, data: dict, flush: bool = True) -> dict | None:
    return record(rooms.personal(principal), type_, data, flush=flush)


def _pair(a: Principal, b: Principal):
    return or_(
        and_(Block.blocker_role == a.role, Block.blocker_id == a.id, Block.blocked_role == b.role,
             Block.blocked_id == b.id),
        and_(Block.blocker_role == b.role, Block.blocker_id == b.id, Block.blocked_role == a.role,
             Block.blocked_id == a.id),
    )


def blocked_between(a: Principal, b: Principal) -> bool:
    """True when either has blocked the other."""
    return db.session.execute(select(Block.id).where(_pair(a, b)).limit(1)).first() is not None


def refuse_blocked_members(actor: Principal, people: list[Principal]) -> None:
    """403 `blocked` when anyone but an admin adds to a group someone who
    blocked them or whom they blocked (one query for the whole list)."""
    others = [p for p in people if p != actor]
    if actor.is_admin or not others:
        return
    rows = db.session.execute(
        select(Block.blocker_role, Block.blocker_id, Block.blocked_role, Block.blocked_id)
        .where(or_(*(_pair(actor, p) for p in others)))
    ).all()
    if rows:
        blocked = sorted({Principal(r[2], r[3]) if Principal(r[0], r[1]) == actor else Principal(r[0], r[1])
                          for r in rows})
        raise Forbidden("you cannot add someone who blocked you or whom you blocked", code="blocked",
                        details={"participants": [p.as_dict() for p in blocked]})

