"""The caller's inbox: the list of conversations, one in detail, unread counts.

A page costs six queries whatever its size (conversations with the caller's
membership and settings, their participants with display names, their last
messages, those messages' reactions and attachments, the caller's unread
counts), never one per conversation.

A former member sees a conversation as it was when they left: its last
message and activity then, `last_seq` then, the participants of then (who
joined later is not listed, who left later is still a member) with read
markers no further than the last message they saw.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, bindparam, case, false, func, not_, or_, select
from sqlalchemy.orm import aliased

from api.extensions import db
from api.messaging import participant_settings, reacting
from api.messaging.access import participant_row, visible_conversation
from api.messaging.search import containing
from api.paging import split_page
from api.schemas import Augmented
from shared.auth import Principal
from shared.models import Conversation, MentorProfile, Message, Participant, StudentNeeds, Timestamp

EPOCH = dt.datetime(1970, 1, 1)


def encode_cursor(activity_at: dt.datetime, conversation_id: int, pinned: bool = False) -> str:
    micros = (activity_at - EPOCH) // dt.timedelta(microseconds=1)
    return f"{'p' if pinned else ''}{micros}_{conversation_id}"


def decode_cursor(cursor: str) -> tuple[bool, dt.datetime, int]:
    pinned = cursor.startswith("p")
    micros, _, conversation_id = cursor.removeprefix("p").partition("_")
    # The schema's regexp bounds both numbers; clamp the time to what datetime holds.
    micros = min(int(micros), (dt.datetime(9999, 1, 1) - EPOCH) // dt.timedelta(microseconds=1))
    return pinned, EPOCH + dt.timedelta(microseconds=micros), min(int(conversation_id), 2**63 - 1)


def visible_last_id(conversation: Conversation, me: Participant) -> int | None:
    last = me.left_message_id if me.left_at is not None else conversation.last_message_id
    return None if last is not None and last <= (me.cleared_message_id or 0) else last


# visible_last_id in SQL, before delete-for-me.
VISIBLE_LAST = case((Participant.left_at.is_(None), Conversation.last_message_id), else_=Participant.left_message_id)
PINNED = case((Participant.pinned_at.is_not(None), 1), else_=0)


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
    params: dict[str, Any] = {"role": principal.role, "principal_id": principal.id}
    if conversation_ids is not None:
        params["ids"] = conversation_ids
    statement = _unread_statement(conversation_ids is not None)
    return {cid: count for cid, count in db.session.execute(statement, params)}


@functools.cache
def _unread_statement(some: bool):
    """`unread_counts`' query, built once (`some`: only conversations `ids`)."""
    role, principal_id = bindparam("role"), bindparam("principal_id")
    query = (
        select(Message.conversation_id, func.count())
        .join(
            Participant,
            and_(
                Participant.conversation_id == Message.conversation_id,
                Participant.role == role,
                Participant.principal_id == principal_id,
            ),
        )
        .where(
            Message.id > func.coalesce(Participant.last_read_message_id, 0),
            Message.deleted_at.is_(None),
            or_(Message.sender_role != role, Message.sender_id != principal_id),
            or_(Participant.left_at.is_(None), Message.id <= Participant.left_message_id),
            Message.id > func.coalesce(Participant.cleared_message_id, 0),
        )
        .group_by(Message.conversation_id)
    )
    return query.where(Message.conversation_id.in_(bindparam("ids", expanding=True))) if some else query


def _with_names(query, participant):
    """`query` joined to the profile or needs that name `participant` (an entity or alias)."""
    return (
        query.outerjoin(MentorProfile, and_(participant.role == "mentor",
                                            MentorProfile.mentor_id == participant.principal_id))
        .outerjoin(StudentNeeds, and_(participant.role == "student",
                                      StudentNeeds.student_id == participant.principal_id))
    )


def members_with_names(conversation_ids: list[int], viewer: Principal | None = None) -> dict[int, list[Augmented]]:
    """Each conversation's participant rows with their `display_name` (the mentor's
    profile, the student's needs; admins have none), in one query; to a `viewer`,
    a broadcast's other recipients are left out."""
    members = defaultdict(list)
    params: dict[str, Any] = {"ids": conversation_ids}
    if viewer is not None:
        params.update(role=viewer.role, principal_id=viewer.id)
    for p, mentor_name, student_name in db.session.execute(_members_statement(viewer is not None), params):
        members[p.conversation_id].append(Augmented(p, display_name=mentor_name or student_name))
    return members


@functools.cache
def _members_statement(for_viewer: bool):
    """`members_with_names`' query, built once."""
    query = _with_names(select(Participant, MentorProfile.display_name, StudentNeeds.display_name), Participant)
    query = query.where(Participant.conversation_id.in_(bindparam("ids", expanding=True))).order_by(Participant.id)
    if for_viewer:
        # A broadcast's read-only recipients are listed to themselves only.
        query = query.where(or_(Participant.read_only == false(),
                                and_(Participant.role == bindparam("role"),
                                     Participant.principal_id == bindparam("principal_id"))))
    return query


# The last messages of a page of conversations.
LAST_MESSAGES = select(Message).where(Message.id.in_(bindparam("ids", expanding=True)))


def _describe(pairs: list[tuple[Conversation, Participant]], principal: Principal) -> list[Augmented]:
    """Conversations with participants, last message and unread count (ConversationOut), in four queries."""
    ids = [c.id for c, _ in pairs]
    members = members_with_names(ids, principal)
    last_ids = [i for i in (visible_last_id(c, me) for c, me in pairs) if i is not None]
    last = {m.id: m for m in reacting.with_reactions(
        db.session.execute(LAST_MESSAGES, {"ids": last_ids}).scalars().all() if last_ids else [], principal)}
    unread = unread_counts(principal, ids)
    described = []
    for c, me in pairs:
        message = last.get(visible_last_id(c, me) or 0)
        activity = activity_at(c, me, message)
        described.append(Augmented(
            c, participants=as_of_leaving(members[c.id], me), last_message=message, unread=unread.get(c.id, 0),
            last_activity_at=activity,
            last_seq=c.last_seq if me.left_at is None or me.left_seq is None else me.left_seq,
            **{k: v for k, v in participant_settings.settings_of(c.id, me, activity).items() if k != "conversation_id"},
        ))
    return described


def _matching():
    """SQL: the title or a participant's display name contains the `pattern`
    parameter (a LIKE pattern of the lowered text; wildcards escaped)."""
    pattern = bindparam("pattern")
    other = aliased(Participant)
    named = (
        _with_names(select(other.id), other)
        .where(other.conversation_id == Conversation.id, or_(
            func.lower(MentorProfile.display_name).like(pattern, escape="\\"),
            func.lower(StudentNeeds.display_name).like(pattern, escape="\\"),
        ))
    )
    return or_(func.lower(Conversation.title).like(pattern, escape="\\"), named.exists())


def list_conversations(
    principal: Principal, limit: int, before: str | None, archived: bool = False, q: str | None = None,
    context: str | None = None,
) -> dict:
    """A page of the caller's list: pinned first, then newest activity; archived ones only with `archived`."""
    params: dict[str, Any] = {"role": principal.role, "principal_id": principal.id, "limit": limit + 1}
    if context:
        kind, _, context_id = context.partition(":")
        params.update(context_kind=kind, context_id=int(context_id))
    if q:
        params["pattern"] = containing(q.lower())
    after = None
    if before:
        pinned, params["at"], params["cid"] = decode_cursor(before)
        after = "pinned" if pinned else "plain"
    statement = _page_statement(archived, bool(context), bool(q), after)
    rows, more = split_page(list(db.session.execute(statement, params)), limit)
    items = _describe([(c, me) for c, me, _ in rows], principal) if rows else []
    cursor = encode_cursor(rows[-1][2], rows[-1][0].id, rows[-1][1].pinned_at is not None) if more else None
    return {"conversations": items, "next_before": cursor}


@functools.cache
def _page_statement(archived: bool, in_context: bool, matching: bool, after: str | None):
    """The list's query for one combination of filters, built once: building
    it per request cost about a quarter of a page's time (the values go in as
    parameters). `after`: past a cursor of a pinned (`"pinned"`) or plain row."""
    archived_now = participant_settings.archived_clause(ACTIVITY)
    query = (
        select(Conversation, Participant, ACTIVITY)
        .join(Participant, Participant.conversation_id == Conversation.id)
        .outerjoin(LeftMessage, and_(Participant.left_at.is_not(None), LeftMessage.id == Participant.left_message_id))
        .where(Participant.role == bindparam("role"), Participant.principal_id == bindparam("principal_id"),
               Conversation.deleted_at.is_(None), not_(participant_settings.hidden_clause(VISIBLE_LAST)),
               archived_now if archived else not_(archived_now))
        .order_by(PINNED.desc(), ACTIVITY.desc(), Conversation.id.desc())
        .limit(bindparam("limit"))
    )
    if in_context:
        query = query.where(Conversation.context_kind == bindparam("context_kind"),
                            Conversation.context_id == bindparam("context_id"))
    if matching:
        query = query.where(_matching())
    if after is not None:
        at, cid = bindparam("at", type_=Timestamp), bindparam("cid")
        later = or_(ACTIVITY < at, and_(ACTIVITY == at, Conversation.id < cid))
        query = query.where(or_(and_(PINNED == 1, later), PINNED == 0) if after == "pinned"
                            else and_(PINNED == 0, later))
    return query


def describe_one(conversation_id: int, principal: Principal) -> Augmented:
    conversation, me = visible_conversation(conversation_id, principal)
    return _describe([(conversation, me)], principal)[0]


def describe_for(conversation_id: int, principal: Principal) -> Augmented:
    """`describe_one` for whoever just opened it, also an admin who is not a
    member (a team's conversation): shown as to a member with nothing read."""
    conversation = db.session.get(Conversation, conversation_id)
    me = participant_row(conversation_id, principal) or Participant(
        conversation_id=conversation_id, role=principal.role, principal_id=principal.id
    )
    return _describe([(conversation, me)], principal)[0]


def members_of(conversation_id: int) -> dict:
    return {"conversation_id": conversation_id, "participants": members_with_names([conversation_id])[conversation_id]}
