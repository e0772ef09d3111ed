"""Reading the event log: who is in which room, and what a room missed.

Used by the API (`GET /api/v1/events`, through its session) and by the
gateway (rooms at connect, replay, the log reader, through a plain engine in
a worker thread). Every function takes anything with `.execute()`: a
SQLAlchemy `Session` or `Connection`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import and_, func, or_, select

from shared import rooms
from shared.auth import Principal
from shared.events import envelope
from shared.models import Event, Message, Participant, Relationship

_EVENT_COLUMNS = (Event.id, Event.room, Event.type, Event.seq, Event.data, Event.request_id, Event.created_at)


def conversation_ids(conn: Any, principal: Principal) -> list[int]:
    """Conversations the principal currently participates in (one query)."""
    query = select(Participant.conversation_id).where(
        Participant.role == principal.role,
        Participant.principal_id == principal.id,
        Participant.left_at.is_(None),
        Participant.read_only.is_(False),
    )
    return sorted(conn.execute(query).scalars().all())


def principal_rooms(conn: Any, principal: Principal) -> list[str]:
    """Every room the principal's sockets are in: base rooms + conversations."""
    return rooms.base_rooms(principal) + [rooms.conversation(c) for c in conversation_ids(conn, principal)]


@dataclass(frozen=True)
class Cleared:
    """What a principal deleted for themselves in one conversation: its room's
    events up to `seq`, and every copy of its messages up to `message_id`
    (e.g. the notification events in their personal room)."""

    conversation_id: int
    seq: int
    message_id: int


def cleared_floors(conn: Any, principal: Principal) -> dict[str, Cleared]:
    """Per conversation room the principal deleted for themselves: how far they cleared."""
    query = select(Participant.conversation_id, Participant.cleared_seq, Participant.cleared_message_id).where(
        Participant.role == principal.role,
        Participant.principal_id == principal.id,
        Participant.left_at.is_(None),
        Participant.cleared_seq.is_not(None),
    )
    return {rooms.conversation(cid): Cleared(cid, seq, mid or 0) for cid, seq, mid in conn.execute(query)}


def read_rooms_after(
    conn: Any, room_names: Iterable[str], after: int, limit: int, floors: dict[str, Cleared] | None = None
) -> list[dict]:
    """Envelopes of `room_names` with id > after, oldest first, at most `limit`;
    in a room of `floors`, only the events above its seq, and in any room none
    that copies a message it cleared."""
    room_names = list(room_names)
    if not room_names:
        return []
    floors = floors or {}
    above_floors = [or_(Event.room != room, Event.seq > cleared.seq) for room, cleared in floors.items()]
    wanted = and_(Event.room.in_(room_names), *above_floors)
    if floors:
        cleared_messages = select(Message.id).where(or_(*(
            and_(Message.conversation_id == c.conversation_id, Message.id <= c.message_id) for c in floors.values()
        )))
        wanted = and_(wanted, or_(Event.message_id.is_(None), Event.message_id.not_in(cleared_messages)))
    query = (
        select(*_EVENT_COLUMNS)
        .where(wanted, Event.id > after)
        .order_by(Event.id)
        .limit(limit)
    )
    return [envelope(row) for row in conn.execute(query)]


def latest_id(conn: Any) -> int:
    return conn.execute(select(func.max(Event.id))).scalar() or 0


def ids_after(conn: Any, after: int, limit: int) -> list[int]:
    """Ids above `after` (primary key only: cheap to poll)."""
    query = select(Event.id).where(Event.id > after).order_by(Event.id).limit(limit)
    return list(conn.execute(query).scalars())


def existing_ids(conn: Any, ids: Iterable[int]) -> list[int]:
    ids = list(ids)
    if not ids:
        return []
    return list(conn.execute(select(Event.id).where(Event.id.in_(ids))).scalars())


def read_ids(conn: Any, ids: Iterable[int]) -> list[dict]:
    """Envelopes for these ids, oldest first."""
    ids = list(ids)
    if not ids:
        return []
    query = select(*_EVENT_COLUMNS).where(Event.id.in_(ids)).order_by(Event.id)
    return [envelope(row) for row in conn.execute(query)]


def related_principals(conn: Any, asker: Principal, candidates: Iterable[Principal]) -> set[Principal]:
    """The candidates the asker shares a current conversation or a
    (pending or active) relationship with; admins see everyone."""
    candidates = {c for c in candidates if c != asker}
    if asker.is_admin or not candidates:
        return candidates
    mine = select(Participant.conversation_id).where(
        Participant.role == asker.role, Participant.principal_id == asker.id, Participant.left_at.is_(None),
        Participant.read_only.is_(False),
    )
    members = or_(*(and_(Participant.role == c.role, Participant.principal_id == c.id) for c in candidates))
    query = select(Participant.role, Participant.principal_id).where(
        Participant.conversation_id.in_(mine), Participant.left_at.is_(None), Participant.read_only.is_(False),
        members,
    )
    found = {Principal(role, pid) for role, pid in conn.execute(query)}
    return found | _relationship_partners(conn, asker, candidates - found)


def _relationship_partners(conn: Any, asker: Principal, candidates: set[Principal]) -> set[Principal]:
    if asker.role not in ("mentor", "student"):
        return set()
    other = "student" if asker.role == "mentor" else "mentor"
    ids = [c.id for c in candidates if c.role == other]
    if not ids:
        return set()
    mine, theirs = (
        (Relationship.mentor_id, Relationship.student_id)
        if asker.role == "mentor"
        else (Relationship.student_id, Relationship.mentor_id)
    )
    query = select(theirs).where(
        mine == asker.id, theirs.in_(ids), Relationship.status.in_(("pending", "active"))
    )
    return {Principal(other, pid) for pid in conn.execute(query).scalars()}
