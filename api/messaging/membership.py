"""Opening conversations (direct, group, a mentorship's), managing group members,
and the one conversation of a context."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.extensions import db
from api.messaging.access import (
    OPEN_STATUSES,
    blocked_between,
    live_conversation,
    lock_conversation,
    participant_row,
    personal_event,
    refuse_blocked_members,
    room_event,
    visible_conversation,
)
from api.messaging.schemas import summary_out
from api.schemas import Augmented
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.models import Conversation, Participant, Relationship
from shared.timeutil import utcnow


def add_participants(conversation: Conversation, members: list[Principal]) -> list[Participant]:
    rows = [Participant(conversation_id=conversation.id, role=m.role, principal_id=m.id) for m in members]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def announce_conversation(conversation: Conversation, members: list[Principal], flush: bool = True) -> None:
    """`conversation:created` to each member's personal room (the gateway then
    joins their sockets to `conversation:<id>` without a reconnect).
    `flush=False`: the rows wait for the commit and share one INSERT (a team's hundreds)."""
    data = summary_out.dump(Augmented(conversation, participants=members))
    for member in members:
        personal_event(member, "conversation:created", data, flush=flush)


def open_mentorship_conversation(relationship: Relationship) -> Conversation:
    """The pair's conversation, created in the caller's transaction when a
    relationship becomes active; returns the existing one if there is one."""
    existing = db.session.query(Conversation).filter_by(relationship_id=relationship.id).one_or_none()
    if existing is not None:
        return existing
    conversation = Conversation(type="mentorship", relationship_id=relationship.id, title=None)
    db.session.add(conversation)
    db.session.flush()
    members = [Principal("mentor", relationship.mentor_id), Principal("student", relationship.student_id)]
    add_participants(conversation, members)
    announce_conversation(conversation, members)
    return conversation


def direct_key(a: Principal, b: Principal) -> str:
    return "|".join(sorted((str(a), str(b))))


def may_open_direct(a: Principal, b: Principal) -> bool:
    """Admins with anyone; a mentor and a student who share a pending or
    active relationship. Nobody else."""
    if a.is_admin or b.is_admin:
        return True
    pair = {a.role: a.id, b.role: b.id}
    if set(pair) != {"mentor", "student"}:
        return False
    found = db.session.execute(
        select(Relationship.id).where(
            Relationship.mentor_id == pair["mentor"],
            Relationship.student_id == pair["student"],
            Relationship.status.in_(OPEN_STATUSES),
        ).limit(1)
    ).first()
    return found is not None


def _unique(people: list[dict]) -> list[Principal]:
    return list(dict.fromkeys(Principal(p["role"], p["id"]) for p in people))


def _others(creator: Principal, people: list[dict]) -> list[Principal]:
    return [p for p in _unique(people) if p != creator]


def open_direct(creator: Principal, people: list[dict]) -> tuple[Conversation, bool]:
    """The pair's direct conversation: (conversation, created?)."""
    others = _others(creator, people)
    if len(others) != 1:
        raise Invalid("a direct conversation has exactly one other participant", code="direct_needs_one_other")
    other = others[0]
    if not may_open_direct(creator, other):
        raise Forbidden("you may not open a direct conversation with this person", code="direct_not_allowed")
    if blocked_between(creator, other):
        raise Forbidden("one of you has blocked the other", code="blocked")
    key = direct_key(creator, other)
    existing = db.session.execute(select(Conversation).where(Conversation.direct_key == key)).scalar_one_or_none()
    if existing is not None:
        return existing, False
    try:
        conversation = Conversation(type="direct", direct_key=key)
        db.session.add(conversation)
        db.session.flush()
    except IntegrityError:
        # Both of the pair opened it at once: the other request won.
        db.session.rollback()
        return db.session.execute(select(Conversation).where(Conversation.direct_key == key)).scalar_one(), False
    members = [creator, other]
    add_participants(conversation, members)
    announce_conversation(conversation, members)
    return conversation, True


def context_key(type_: str, context: dict, team_id: int | None = None) -> str:
    """The unique key of a context's conversation: per type, and per team for team conversations."""
    scope = f"team:{team_id}" if type_ == "team" else type_
    return f"{scope}|{context['kind']}:{context['id']}"


def by_context_key(key: str) -> Conversation | None:
    return db.session.execute(select(Conversation).where(Conversation.context_key == key)).scalar_one_or_none()


def insert_keyed(conversation: Conversation) -> Conversation:
    """Insert a conversation with a `context_key`; when a concurrent request
    inserted the same key first, roll back and answer with that one instead."""
    try:
        db.session.add(conversation)
        db.session.flush()
        return conversation
    except IntegrityError:
        # Nothing of this transaction precedes the insert that a rollback would lose.
        db.session.rollback()
        return db.session.execute(
            select(Conversation).where(Conversation.context_key == conversation.context_key)
        ).scalar_one()


def _existing_group(conversation: Conversation, creator: Principal) -> Conversation:
    if participant_row(conversation.id, creator) is None:
        raise Conflict("a group conversation about this context exists, and you are not in it",
                       code="context_taken")
    return conversation


def open_group(
    creator: Principal, title: str | None, people: list[dict], context: dict | None = None
) -> tuple[Conversation, bool]:
    """A new group (owned by its creator): (conversation, created?). With a
    context, the group of that context if there is one (its members unchanged)."""
    if creator.role not in ("admin", "mentor"):
        raise Forbidden("only admins and mentors create group conversations", code="role_not_allowed")
    key = context_key("group", context) if context else None
    if key and (existing := by_context_key(key)) is not None:
        return _existing_group(existing, creator), False
    if not title or not title.strip():
        raise Invalid("a group conversation needs a title", code="title_required", details={"title": ["required"]})
    members = [creator, *_others(creator, people)]
    refuse_blocked_members(creator, members)
    conversation = Conversation(
        type="group", title=title, owner_role=creator.role, owner_id=creator.id, context_key=key,
        context_kind=context["kind"] if context else None, context_id=context["id"] if context else None,
    )
    inserted = insert_keyed(conversation)
    if inserted is not conversation:
        return _existing_group(inserted, creator), False
    add_participants(conversation, members)
    announce_conversation(conversation, members)
    return conversation, True


def _manageable_group(conversation_id: int, actor: Principal) -> Conversation:
    if actor.is_admin:
        conversation = live_conversation(conversation_id)
        if conversation is None:
            raise NotFound("conversation not found", code="conversation_not_found")
    else:
        conversation, _ = visible_conversation(conversation_id, actor)
    if conversation.type != "group":
        raise Conflict("only group conversations have managed membership", code="not_a_group")
    return conversation


def _is_owner(conversation: Conversation, actor: Principal) -> bool:
    return actor.is_admin or (conversation.owner_role, conversation.owner_id) == (actor.role, actor.id)


def _membership_event(conversation: Conversation, principal: Principal, type_: str, flush: bool = True) -> None:
    data = {"conversation_id": conversation.id, "principal": principal.as_dict()}
    room_event(conversation, type_, data, flush=flush)
    personal_event(principal, type_, data, flush=flush)


def admit(conversation: Conversation, principal: Principal, row: Participant | None, flush: bool = True) -> None:
    """Add a member (or bring a former one back) with `participant:added`; the
    conversation must be locked. `flush=False`: see `announce_conversation`."""
    if row is None:
        db.session.add(Participant(conversation_id=conversation.id, role=principal.role, principal_id=principal.id))
    else:
        # Back in: a rejoined member reads the whole history again.
        row.left_at, row.left_message_id, row.left_seq = None, None, None
    _membership_event(conversation, principal, "participant:added", flush=flush)


def dismiss(conversation: Conversation, row: Participant, flush: bool = True) -> None:
    """A member leaves (keeping what came before) with `participant:removed`; the conversation must be locked."""
    row.left_at, row.left_message_id = utcnow(), conversation.last_message_id
    _membership_event(conversation, Principal(row.role, row.principal_id), "participant:removed", flush=flush)
    row.left_seq = conversation.last_seq  # their last event of the room: that removal


def add_members(conversation_id: int, actor: Principal, people: list[dict]) -> Conversation:
    """Add (or bring back) members of a group; owner or admin only."""
    conversation = _manageable_group(conversation_id, actor)
    if not _is_owner(conversation, actor):
        raise Forbidden("only the group owner or an admin manages members", code="not_owner")
    refuse_blocked_members(actor, _unique(people))
    conversation = lock_conversation(conversation.id)
    for principal in _unique(people):
        row = participant_row(conversation.id, principal)
        if row is None or row.left_at is not None:
            admit(conversation, principal, row)
    return conversation


def remove_member(conversation_id: int, actor: Principal, principal: Principal) -> Conversation:
    """Owner or admin removes a member; anyone may remove themselves (leave)."""
    conversation = _manageable_group(conversation_id, actor)
    if principal != actor and not _is_owner(conversation, actor):
        raise Forbidden("only the group owner or an admin manages members", code="not_owner")
    row = participant_row(conversation.id, principal)
    if row is None or row.left_at is not None:
        raise NotFound("no such participant", code="participant_not_found")
    conversation = lock_conversation(conversation.id)
    dismiss(conversation, row)
    return conversation



def leave(conversation_id: int, principal: Principal) -> Conversation:
    """The caller leaves a group (as `remove_member` for themselves); other kinds cannot be left."""
    conversation, me = visible_conversation(conversation_id, principal)
    if conversation.type != "group":
        raise Conflict(f"a {conversation.type} conversation cannot be left; delete it for yourself instead",
                       code="cannot_leave", details={"type": conversation.type})
    if me.left_at is not None:
        raise Conflict("you have already left this conversation", code="already_left")
    return remove_member(conversation.id, principal, principal)
