"""A room's events in `seq` order, whichever source brings them first.

The API numbers the events of each `conversation:<id>` room under the
conversation's row lock, so seq order is commit order, and once an event is
committed so is its predecessor. But publishes after commit race each
other, and the log reader races the bus: seq 8 may reach a gateway before
seq 7. `Order.admit` lets an event through only when the room's previous
seq has been: otherwise it is held in a small per-room buffer, and the log
reader is asked for a read. Since the predecessor is committed, a log read
that starts after the hold delivers it (and so releases what waits behind
it). What no such read brings, or what is still missing after `HOLD`
seconds (the database is slow or away), is given up on: the room's held
events go out in seq order and the gap is counted. An event of a room
arriving after its seq was given up on is dropped (counted): delivering it
would break the order, and the seq gap tells the client to reload over REST.

The first event a gateway sees of a room has no known predecessor: it is
held until a log read started after it is done, which brings whatever of
the room was committed since this process started and has not come yet.

Membership events carry the room's seq too, so applying them in this order
makes a removal exact: a member removed at seq n gets nothing above n.

Cost in order: one dict lookup and a comparison per event; timers and log
reads only when something waits.
"""
from __future__ import annotations

import time
from typing import Callable

from gateway.metrics import Metrics

HOLD = 1.0  # seconds an event waits for its predecessor at most
ROOM_LIMIT = 100_000  # rooms remembered; the oldest idle ones are forgotten past it


class _Room:
    __slots__ = ("seq", "held", "after", "since")

    def __init__(self) -> None:
        self.seq: int | None = None  # the last seq let through (None: not known yet)
        self.held: dict[int, dict] | None = None  # seq -> envelope, while any waits
        self.after = 0  # log reads started when the hold began
        self.since = 0.0


class Order:
    def __init__(self, metrics: Metrics, request_read: Callable[[], None]):
        """`request_read()` asks the log reader for a read soon."""
        self.metrics, self.request_read = metrics, request_read
        self.rooms: dict[str, _Room] = {}
        self.holding: dict[str, _Room] = {}  # the rooms with held events
        self.reads_started = 0

    def admit(self, room: str, seq: int, envelope: dict) -> list[dict] | tuple[dict, ...]:
        """The envelopes of `room` to deliver now, in order: usually just this
        one; none while it waits; it and those it was holding up."""
        state = self.rooms.get(room)
        # (A room's seq is unknown only while its first events are held.)
        if state is not None and state.held is None and seq == state.seq + 1:
            state.seq = seq
            return (envelope,)
        if state is None:
            state = self._new_room(room)
            if seq == 1:  # the room's very first event: nothing can come before it
                state.seq = 1
                return (envelope,)
        elif state.seq is not None and seq <= state.seq:
            self.metrics.order_late += 1
            return ()
        if state.held is None:
            state.held, state.after, state.since = {}, self.reads_started, time.monotonic()
            self.holding[room] = state
            self.request_read()
        state.held[seq] = envelope
        self.metrics.order_held += 1
        return self._next(room, state) if state.seq is not None and state.seq + 1 in state.held else ()

    def read_started(self) -> int:
        self.reads_started += 1
        return self.reads_started

    def read_done(self, number: int) -> list[dict]:
        """After log read `number`: what waited since before it started goes
        out (whatever it did not bring will not come)."""
        return self._give_up(lambda state: state.after < number)

    def expired(self, now: float | None = None) -> list[dict]:
        """What has waited `HOLD` seconds goes out."""
        horizon = (time.monotonic() if now is None else now) - HOLD
        return self._give_up(lambda state: state.since <= horizon)

    def next_deadline(self) -> float | None:
        return min((state.since for state in self.holding.values()), default=None)

    def _next(self, room: str, state: _Room) -> list[dict]:
        held, out = state.held, []
        seq = state.seq + 1
        while seq in held:
            out.append(held.pop(seq))
            seq += 1
        state.seq = seq - 1
        if not held:
            state.held = None
            del self.holding[room]
        return out

    def _give_up(self, due: Callable[[_Room], bool]) -> list[dict]:
        out: list[dict] = []
        for room, state in [(room, state) for room, state in self.holding.items() if due(state)]:
            held = sorted(state.held)
            if state.seq is not None:  # a first sight has no known predecessor: no gap
                self.metrics.order_gaps += held[-1] - state.seq - len(held)
            out += [state.held[seq] for seq in held]
            state.seq, state.held = held[-1], None
            del self.holding[room]
        return out

    def _new_room(self, room: str) -> _Room:
        rooms = self.rooms
        if len(rooms) >= ROOM_LIMIT:
            for old in [r for r in list(rooms)[: ROOM_LIMIT // 10] if r not in self.holding]:
                del rooms[old]
        state = rooms[room] = _Room()
        return state
