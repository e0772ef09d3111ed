"""The caller's inbox: the list of conversations, one in detail, unread counts.

A page costs five queries whatever its size (conversations with the caller's
membership, their participants, their last messages, those messages'
attachments, the caller's unread counts), never one per conversation.

A former member sees a conversation as it was when they left: its last
message and activity then, `last_seq` then, the participants of then (who
joined later is not listed, who left later is still a member) with read
markers no further than the last message they saw.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from api.extensions import db
from api.messaging.access import visible_conversation
from api.paging import fetch_page
from api.schemas import Augmented
from shared.auth import Principal
from shared.models import Conversation, Message, Participant

EPOCH = dt.datetime(1970, 1, 1)


def encode_cursor(activity_at: dt.datetime, conversation_id: int) -> str:
    micros = (activity_at - EPOCH) // dt.timedelta(microseconds=1)
    return f"{micros}_{conversation_id}"


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    micros, _, conversation_id = cursor.partition("_")
    # The schema's regexp bounds both numbers; clamp the time to what datetime holds.
    micros = min(int(micros), (dt.datetime(9999, 1, 1) - EPOCH) // dt.timedelta(microseconds=1))
    return EPOCH + dt.timedelta(microseconds=micros), min(int(conversation_id), 2**63 - 1)


def visible_last_id(conversation: Conversation, me: Participant) -> int | None:
    if me.left_at is not None:
        return me.left_message_id
    return conversation.last_message_id


# The last message a former member saw (their `left_message_id`).
LeftMessage = aliased(Message)
# Activity moves only with messages: a former member's is that of the last message they saw.
ACTIVITY = case(
    (Participant.left_at.is_(None), Conversation.last_activity_at),
    else_=func.coalesce(LeftMessage.created_at, Conversation.created_at),
)


def activity_at(conversation: Conversation, me: Participant, last: Message | None) -> dt.datetime:
    """ACTIVITY, for one row."""
    if me.left_at is None:
        return conversation.last_activity_at
    return last.created_at if last is not None else conversation.created_at


def as_of_leaving(members: list[Participant], me: Participant) -> list[Any]:
    """The participants as `me` last saw them (all of them while `me` is a member)."""
    if me.left_at is None:
        return members
    left_at, cap = me.left_at, me.left_message_id or 0
    return [
        Augmented(
            p,
            left_at=p.left_at if p.left_at is not None and p.left_at <= left_at else None,
            last_read_message_id=None if p.last_read_message_id is None else min(p.last_read_message_id, cap),
            last_read_at=None if p.last_read_at is None else min(p.last_read_at, left_at),
        )
        for p in members
        if p.joined_at <= left_at
    ]


def unread_counts(principal: Principal, conversation_ids: list[int] | None = None) -> dict[int, int]:
    """Messages after the caller's marker, not theirs, not deleted, that they can see."""
    query = (
        select(Message.conversation_id, func.count())
        .join(
            Participant,
            and_(
                Participant.conversation_id == Message.conversation_id,
                Participant.role == principal.role,
                Participant.principal_id == principal.id,
            ),
        )
        .where(
            Message.id > func.coalesce(Participant.last_read_message_id, 0),
            Message.deleted_at.is_(None),
            or_(Message.sender_role != principal.role, Message.sender_id != principal.id),
            or_(Participant.left_at.is_(None), Message.id <= Participant.left_message_id),
        )
        .group_by(Message.conversation_id)
    )
    if conversation_ids is not None:
        query = query.where(Message.conversation_id.in_(conversation_ids))
    return {cid: count for cid, count in db.session.execute(query)}


def _describe(pairs: list[tuple[Conversation, Participant]], principal: Principal) -> list[Augmented]:
    """Conversations with participants, last message and unread count (ConversationOut), in three queries."""
    ids = [c.id for c, _ in pairs]
    members = defaultdict(list)
    for p in db.session.execute(
        select(Participant).where(Participant.conversation_id.in_(ids)).order_by(Participant.id)
    ).scalars():
        members[p.conversation_id].append(p)
    last_ids = [i for i in (visible_last_id(c, me) for c, me in pairs) if i is not None]
    last = {m.id: m for m in db.session.execute(select(Message).where(Message.id.in_(last_ids))).scalars()}
    unread = unread_counts(principal, ids)
    described = []
    for c, me in pairs:
        message = last.get(visible_last_id(c, me) or 0)
        described.append(Augmented(
            c, participants=as_of_leaving(members[c.id], me), last_message=message, unread=unread.get(c.id, 0),
            last_activity_at=activity_at(c, me, message),
            last_seq=c.last_seq if me.left_at is None or me.left_seq is None else me.left_seq,
        ))
    return described


def list_conversations(principal: Principal, limit: int, before: str | None) -> dict:
    query = (
        select(Conversation, Participant, ACTIVITY)
        .join(Participant, Participant.conversation_id == Conversation.id)
        .outerjoin(LeftMessage, and_(Participant.left_at.is_not(None), LeftMessage.id == Participant.left_message_id))
        .where(Participant.role == principal.role, Participant.principal_id == principal.id)
        .order_by(ACTIVITY.desc(), Conversation.id.desc())
    )
    if before:
        at, cid = decode_cursor(before)
        query = query.where(or_(ACTIVITY < at, and_(ACTIVITY == at, Conversation.id < cid)))
    rows, more = fetch_page(query, limit, scalars=False)
    items = _describe([(c, me) for c, me, _ in rows], principal) if rows else []
    return {"conversations": items, "next_before": encode_cursor(rows[-1][2], rows[-1][0].id) if more else None}


def describe_one(conversation_id: int, principal: Principal) -> Augmented:
    conversation, me = visible_conversation(conversation_id, principal)
    return _describe([(conversation, me)], principal)[0]


def members_of(conversation_id: int) -> dict:
    rows = db.session.execute(
        select(Participant).where(Participant.conversation_id == conversation_id).order_by(Participant.id)
    ).scalars()
    return {"conversation_id": conversation_id, "participants": list(rows)}
