"""The sockets this process holds: who they are, which rooms they belong in.

A socket is *pending* from connect until its replay is done: it is in none
of its event rooms yet and the relay buffers live envelopes for it, so the
client gets everything it missed, in order, before any live event. `go_live`
flushes nothing itself; it enters the rooms synchronously (no await), so no
live event can slip between the last buffered one and room membership.
"""
from __future__ import annotations

import asyncio
import math
import time
from contextlib import asynccontextmanager
from typing import Callable, Iterable, Protocol

import socketio

from shared.auth import Principal

NAMESPACE = "/"
# Live envelopes kept per pending socket; beyond this it gets a resync.
BUFFER_LIMIT = 5000


class SocketState:
    """One socket of this process. Slots, a tuple of rooms and a lock made
    only while a replay runs keep an idle socket small (thousands per process)."""

    __slots__ = ("sid", "principal", "rooms", "live", "buffer", "overflowed", "changes", "_lock", "_lock_users",
                 "expires", "typing_tokens", "typing_stamp", "status", "active")

    def __init__(self, sid: str, principal: Principal, rooms: Iterable[str], status: str = "online"):
        self.sid, self.principal = sid, principal
        # A tuple: a few bytes per room where a set costs 216 bytes even when small;
        # membership changes are rare and rebuild it.
        self.rooms: tuple[str, ...] = tuple(dict.fromkeys(rooms))
        self.live = False
        self.buffer: list[dict] | tuple = ()  # live envelopes held while pending (a list once any)
        self.overflowed = False
        # Membership changes seen while the connect query ran: re-applied on top of it.
        self.changes: list[tuple[str, str]] | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_users = 0
        self.expires: int | None = None  # the token's exp, in `Registry.deadlines`
        self.typing_tokens = 0.0
        self.typing_stamp = 0.0
        # The status the client chose (`presence:set`) and its last client event
        # (epoch seconds; connecting counts): `gateway.presence` derives away from it.
        self.status = status
        self.active = time.time()

    def allow(self, rate: int) -> bool:
        """A token bucket of `rate` per second for the client's ephemeral
        events (typing, presence:set), so none can flood a room."""
        now = time.monotonic()
        self.typing_tokens = min(rate, self.typing_tokens + (now - self.typing_stamp) * rate)
        self.typing_stamp = now
        if self.typing_tokens < 1:
            return False
        self.typing_tokens -= 1
        return True

    @asynccontextmanager
    async def locked(self):
        """Serialises replays of this socket (connect, `sync`). The lock exists
        only while someone holds or waits for it: an idle socket keeps none."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        lock = self._lock
        self._lock_users += 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users -= 1
            if not self._lock_users:
                self._lock = None


class RoomWatch(Protocol):
    """Told when this process starts and stops holding a room (the sharded bus)."""

    def held(self, room: str) -> None: ...

    def released(self, room: str) -> None: ...


class Registry:
    def __init__(self, sio: socketio.AsyncServer, on_expired: Callable[[str], None] | None = None,
                 watch: RoomWatch | None = None):
        """`on_expired(sid)` is called once a socket's token has expired (the
        gateway disconnects it); `watch` hears of each room's first and last
        local socket (pending ones count: their events are buffered)."""
        self.manager = sio.manager
        self.watch = watch
        self.room_sockets: dict[str, int] = {}  # kept only with a watch
        self.sockets: dict[str, SocketState] = {}
        # principal -> its sid, or a set of sids once it has several sockets
        # (most have one: a set each would be 216 bytes per socket).
        self.by_principal: dict[Principal, str | set[str]] = {}
        # Sockets not live yet: the only ones the relay buffers for.
        self.pending_states: set[SocketState] = set()
        # Token expiry: exp second -> sids, one timer per second that has any,
        # instead of a TimerHandle (and its context and libuv timer) per socket.
        self.deadlines: dict[int, set[str]] = {}
        self.on_expired = on_expired

    def __len__(self) -> int:
        return len(self.sockets)

    def _hold(self, rooms: Iterable[str]) -> None:
        if self.watch is None:
            return
        counts = self.room_sockets
        for room in rooms:
            counts[room] = counts.get(room, 0) + 1
            if counts[room] == 1:
                self.watch.held(room)

    def _release(self, rooms: Iterable[str]) -> None:
        if self.watch is None:
            return
        counts = self.room_sockets
        for room in rooms:
            counts[room] -= 1
            if not counts[room]:
                del counts[room]
                self.watch.released(room)

    def add(self, state: SocketState) -> None:
        self._hold(state.rooms)
        self.sockets[state.sid] = state
        if not state.live:
            self.pending_states.add(state)
        held = self.by_principal.get(state.principal)
        if held is None:
            self.by_principal[state.principal] = state.sid
        elif isinstance(held, str):
            self.by_principal[state.principal] = {held, state.sid}
        else:
            held.add(state.sid)

    def remove(self, sid: str) -> SocketState | None:
        state = self.sockets.pop(sid, None)
        if state is not None:
            self._release(state.rooms)
            self.pending_states.discard(state)
            held = self.by_principal.get(state.principal)
            if held == sid:
                del self.by_principal[state.principal]
            elif isinstance(held, set):
                held.discard(sid)
                if len(held) == 1:
                    self.by_principal[state.principal] = next(iter(held))
            self._forget_deadline(state)
        return state

    def get(self, sid: str) -> SocketState | None:
        return self.sockets.get(sid)

    def sids_of(self, principal: Principal) -> list[str]:
        held = self.by_principal.get(principal)
        if held is None:
            return []
        return [held] if isinstance(held, str) else list(held)

    def of(self, principal: Principal) -> list[SocketState]:
        return [self.sockets[sid] for sid in self.sids_of(principal)]

    # Token expiry.
    def expire_at(self, state: SocketState, exp) -> None:
        """Call `on_expired(sid)` once the token's `exp` (epoch seconds) has passed."""
        if not isinstance(exp, (int, float)) or isinstance(exp, bool) or state.sid not in self.sockets:
            return
        self._forget_deadline(state)
        second = math.ceil(exp)
        sids = self.deadlines.get(second)
        if sids is None:
            sids = self.deadlines[second] = set()
            loop = asyncio.get_running_loop()
            loop.call_later(max(0.0, second - time.time()), self._deadline, second)
        sids.add(state.sid)
        state.expires = second

    def _deadline(self, second: int) -> None:
        for sid in self.deadlines.pop(second, ()):
            state = self.sockets.get(sid)
            if state is not None and state.expires == second:
                state.expires = None
                if self.on_expired is not None:
                    self.on_expired(sid)

    def _forget_deadline(self, state: SocketState) -> None:
        if state.expires is not None:
            sids = self.deadlines.get(state.expires)
            if sids is not None:
                sids.discard(state.sid)
            state.expires = None

    # Room membership, applied to the Socket.IO manager only while live.
    def join(self, state: SocketState, room: str) -> None:
        if room not in state.rooms:
            state.rooms += (room,)
            if state.sid in self.sockets:
                self._hold((room,))
        if state.live:
            self.manager.basic_enter_room(state.sid, NAMESPACE, room)
        else:
            self._change(state, "join", room)

    def leave(self, state: SocketState, room: str) -> None:
        if room in state.rooms:
            state.rooms = tuple(r for r in state.rooms if r != room)
            if state.sid in self.sockets:
                self._release((room,))
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
        found = dict.fromkeys(rooms)
        for op, room in state.changes or ():
            if op == "join":
                found[room] = None
            else:
                found.pop(room, None)
        old, state.rooms, state.changes = state.rooms, tuple(found), None
        if state.sid in self.sockets:
            self._hold(r for r in state.rooms if r not in old)
            self._release(r for r in old if r not in state.rooms)

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
