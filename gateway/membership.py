"""Rooms follow membership: the relay applies membership events to sockets.

`conversation:created` (data.participants) and `participant:added` /
`participant:removed` (data.conversation_id + data.principal, the copy in
`conversation:<id>` itself, delivered in the room's seq order) move the
affected principal's local sockets in or out of `conversation:<id>` on every
gateway process, without a reconnect. Only signed (or logged) events get
here; clients can never name a room themselves.
"""
from __future__ import annotations

from gateway.registry import Registry
from shared import rooms
from shared.auth import Principal
from shared.config import ROLES


def principal_of(value) -> Principal | None:
    """A Principal from `{"role", "id"}` wire data, or None if it is not one."""
    if not isinstance(value, dict):
        return None
    role, pid = value.get("role"), value.get("id")
    if role not in ROLES or isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return None
    return Principal(role, pid)


def _conversation_id(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def changes(envelope: dict) -> list[tuple[str, Principal, str]]:
    """(join|leave, principal, room) implied by one envelope."""
    data, type_ = envelope.get("data"), envelope.get("type")
    if not isinstance(data, dict):
        return []
    if type_ == "conversation:created":
        cid = _conversation_id(data.get("id"))
        members = data.get("participants") if isinstance(data.get("participants"), list) else []
        found = [p for p in map(principal_of, members) if p is not None]
        return [("join", p, rooms.conversation(cid)) for p in found] if cid else []
    if type_ in ("participant:added", "participant:removed"):
        cid, principal = _conversation_id(data.get("conversation_id")), principal_of(data.get("principal"))
        # The room's own copy only (the member's personal copy has no seq):
        # applied in the room's seq order, the move is exact.
        if cid and principal and envelope.get("room") == rooms.conversation(cid):
            op = "join" if type_ == "participant:added" else "leave"
            return [(op, principal, rooms.conversation(cid))]
    return []


def follow(registry: Registry, envelope: dict) -> None:
    for op, principal, room in changes(envelope):
        for state in registry.of(principal):
            (registry.join if op == "join" else registry.leave)(state, room)


def room_copy_elsewhere(registry: Registry, envelope: dict) -> bool:
    """A member's own copy of `participant:added` for a principal with sockets
    here but without the room: on Redis Cluster this process is not subscribed
    to the room, so the room's copy (the one `changes` applies) is read from
    the log instead (`gateway.relay`)."""
    data = envelope.get("data")
    if envelope.get("type") != "participant:added" or not isinstance(data, dict):
        return False
    cid, principal = _conversation_id(data.get("conversation_id")), principal_of(data.get("principal"))
    if not cid or principal is None or envelope.get("room") == rooms.conversation(cid):
        return False
    return any(rooms.conversation(cid) not in state.rooms for state in registry.of(principal))
