"""The sockets this process holds: who they are, which rooms they belong in.

A socket is *pending* from connect until its replay is done: it is in none
of its event rooms yet and the relay buffers live envelopes for it, so the
client gets everything it missed, in order, before any live event. `go_live`
flushes nothing itself; it enters the rooms synchronously (no await), so no
live event can slip between the last buffered one and room membership.
"""
from __future__ import annotations

import asyncio

import socketio

from shared.auth import Principal

NAMESPACE = "/"
# Live envelopes kept per pending socket; beyond this it gets a resync.
BUFFER_LIMIT = 5000


class SocketState:
    """One socket of this process. Slots and lazily made lock and lists keep
    an idle socket small (thousands per process)."""

    __slots__ = ("sid", "principal", "rooms", "live", "buffer", "overflowed", "changes", "_lock", "expiry",
                 "typing_tokens", "typing_stamp")

    def __init__(self, sid: str, principal: Principal, rooms: set[str]):
        self.sid, self.principal, self.rooms = sid, principal, rooms
        self.live = False
        self.buffer: list[dict] | tuple = ()  # live envelopes held while pending (a list once any)
        self.overflowed = False
        # Membership changes seen while the connect query ran: re-applied on top of it.
        self.changes: list[tuple[str, str]] | None = None
        self._lock: asyncio.Lock | None = None
        self.expiry: asyncio.TimerHandle | None = None
        self.typing_tokens = 0.0
        self.typing_stamp = 0.0

    @property
    def lock(self) -> asyncio.Lock:
        """Serialises replays of this socket (connect, `sync`)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock


class Registry:
    def __init__(self, sio: socketio.AsyncServer):
        self.manager = sio.manager
        self.sockets: dict[str, SocketState] = {}
        self.by_principal: dict[Principal, set[str]] = {}
        # Sockets not live yet: the only ones the relay buffers for.
        self.pending_states: set[SocketState] = set()

    def __len__(self) -> int:
        return len(self.sockets)

    def add(self, state: SocketState) -> None:
        self.sockets[state.sid] = state
        if not state.live:
            self.pending_states.add(state)
        self.by_principal.setdefault(state.principal, set()).add(state.sid)

    def remove(self, sid: str) -> SocketState | None:
        state = self.sockets.pop(sid, None)
        if state is not None:
            self.pending_states.discard(state)
            sids = self.by_principal.get(state.principal, set())
            sids.discard(sid)
            if not sids:
                self.by_principal.pop(state.principal, None)
            if state.expiry is not None:
                state.expiry.cancel()
        return state

    def get(self, sid: str) -> SocketState | None:
        return self.sockets.get(sid)

    def of(self, principal: Principal) -> list[SocketState]:
        return [self.sockets[sid] for sid in self.by_principal.get(principal, ())]

    def sids_of(self, principal: Principal) -> list[str]:
        return list(self.by_principal.get(principal, ()))

    # Room membership, applied to the Socket.IO manager only while live.
    def join(self, state: SocketState, room: str) -> None:
        state.rooms.add(room)
        if state.live:
            self.manager.basic_enter_room(state.sid, NAMESPACE, room)
        else:
            self._change(state, "join", room)

    def leave(self, state: SocketState, room: str) -> None:
        state.rooms.discard(room)
        if state.live:
            self.manager.basic_leave_room(state.sid, NAMESPACE, room)
        else:
            self._change(state, "leave", room)

    @staticmethod
    def _change(state: SocketState, op: str, room: str) -> None:
        if state.changes is None:
            state.changes = []
        state.changes.append((op, room))

    def set_rooms(self, state: SocketState, rooms: list[str]) -> None:
        """The rooms from the connect query, plus changes relayed meanwhile."""
        state.rooms = set(rooms)
        for op, room in state.changes or ():
            (state.rooms.add if op == "join" else state.rooms.discard)(room)
        state.changes = None

    def buffer(self, envelope: dict) -> None:
        for state in self.pending_states:
            held = state.buffer
            if not held:
                state.buffer = [envelope]
            elif len(held) < BUFFER_LIMIT:
                held.append(envelope)
            else:
                state.overflowed = True

    def go_pending(self, state: SocketState) -> None:
        for room in state.rooms:
            self.manager.basic_leave_room(state.sid, NAMESPACE, room)
        state.live, state.buffer, state.overflowed = False, (), False
        self.pending_states.add(state)

    def go_live(self, state: SocketState) -> None:
        if state.sid not in self.sockets or not self.manager.is_connected(state.sid, NAMESPACE):
            return
        for room in state.rooms:
            self.manager.basic_enter_room(state.sid, NAMESPACE, room)
        state.live, state.buffer = True, ()
        state.changes = None
        self.pending_states.discard(state)
