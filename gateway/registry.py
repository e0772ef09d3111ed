"""The sockets this process holds: who they are, which rooms they belong in.

A socket is *pending* from connect until its replay is done: it is in none
of its event rooms yet and the relay buffers live envelopes for it, so the
client gets everything it missed, in order, before any live event. `go_live`
flushes nothing itself; it enters the rooms synchronously (no await), so no
live event can slip between the last buffered one and room membership.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Iterator

import socketio

from shared.auth import Principal

NAMESPACE = "/"
# Live envelopes kept per pending socket; beyond this it gets a resync.
BUFFER_LIMIT = 5000


@dataclass(eq=False)
class SocketState:
    sid: str
    principal: Principal
    rooms: set[str]
    live: bool = False
    buffer: list[dict] = field(default_factory=list)
    overflowed: bool = False
    # Membership changes seen while the connect query ran: re-applied on top of it.
    changes: list[tuple[str, str]] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    expiry: asyncio.TimerHandle | None = None
    typing_tokens: float = 0.0
    typing_stamp: float = 0.0


class Registry:
    def __init__(self, sio: socketio.AsyncServer):
        self.manager = sio.manager
        self.sockets: dict[str, SocketState] = {}
        self.by_principal: dict[Principal, set[str]] = {}

    def __len__(self) -> int:
        return len(self.sockets)

    def add(self, state: SocketState) -> None:
        self.sockets[state.sid] = state
        self.by_principal.setdefault(state.principal, set()).add(state.sid)

    def remove(self, sid: str) -> SocketState | None:
        state = self.sockets.pop(sid, None)
        if state is not None:
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

    def pending(self) -> Iterator[SocketState]:
        return (s for s in self.sockets.values() if not s.live)

    # Room membership, applied to the Socket.IO manager only while live.
    def join(self, state: SocketState, room: str) -> None:
        state.rooms.add(room)
        if state.live:
            self.manager.basic_enter_room(state.sid, NAMESPACE, room)
        else:
            state.changes.append(("join", room))

    def leave(self, state: SocketState, room: str) -> None:
        state.rooms.discard(room)
        if state.live:
            self.manager.basic_leave_room(state.sid, NAMESPACE, room)
        else:
            state.changes.append(("leave", room))

    def set_rooms(self, state: SocketState, rooms: list[str]) -> None:
        """The rooms from the connect query, plus changes relayed meanwhile."""
        state.rooms = set(rooms)
        for op, room in state.changes:
            (state.rooms.add if op == "join" else state.rooms.discard)(room)
        state.changes.clear()

    def buffer(self, envelope: dict) -> None:
        for state in self.pending():
            if len(state.buffer) < BUFFER_LIMIT:
                state.buffer.append(envelope)
            else:
                state.overflowed = True

    def go_pending(self, state: SocketState) -> None:
        for room in state.rooms:
            self.manager.basic_leave_room(state.sid, NAMESPACE, room)
        state.live, state.buffer, state.overflowed = False, [], False

    def go_live(self, state: SocketState) -> None:
        if state.sid not in self.sockets or not self.manager.is_connected(state.sid, NAMESPACE):
            return
        for room in state.rooms:
            self.manager.basic_enter_room(state.sid, NAMESPACE, room)
        state.live, state.buffer = True, []
        state.changes.clear()
