"""Delivering committed events to the sockets of this process.

Two sources feed one `deliver`: the signed Redis channel (`gateway.bus`
calls `on_channel_message`) and the log reader (`gateway.logreader`), which
`run_reader` polls when there is no Redis, after a lost subscription, and
now and then to cover a lost publish. A bounded set of delivered ids makes
sure each event goes out once per process whichever source brings it first,
and `gateway.order` makes sure a room's logged events with a `seq` go out in
seq order (holding one back until its predecessor has come or is given up on).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from contextlib import suppress

from gateway import membership
from gateway.bus import BusLink, SignedChannel
from gateway.emit import SocketIOEmitter
from gateway.logreader import LogReader
from gateway.metrics import Metrics
from gateway.order import HOLD, Order
from gateway.registry import Registry
from shared import rooms
from shared.config import Config
from shared.logs import cause

log = logging.getLogger(__name__)
# Names Socket.IO clients treat specially: never emitted as events.
RESERVED = frozenset({"connect", "connect_error", "disconnect", "disconnecting", "error", "message",
                      "newListener", "removeListener", "ping", "pong"})
SEEN_LIMIT = 200_000
READ_DELAY = 0.02  # seconds a held event waits for its predecessor on the bus before a log read


class Relay:
    def __init__(self, config: Config, registry: Registry, emitter: SocketIOEmitter, reader: LogReader,
                 signed: SignedChannel, link: BusLink, metrics: Metrics):
        self.config, self.registry, self.emitter, self.reader = config, registry, emitter, reader
        self.signed, self.link, self.metrics = signed, link, metrics
        # On Redis Cluster this process only hears the rooms it holds (gateway.sharded_bus).
        self.sharded = bool(config.redis_cluster_nodes)
        self.seen: set[int] = set()
        self._seen_order: deque[int] = deque()
        # event id -> (sids that already got it by replay, when), so the live copy skips them.
        self.replayed: OrderedDict[int, tuple[list[str], float]] = OrderedDict()
        # A held event asks for a log read (the reader wakes on the link's
        # event) a moment later: its predecessor's own publish is usually
        # only a few ms behind, and a read per hold would load the database.
        self.order = Order(metrics, self._read_soon)
        self._read_due: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._expiring: asyncio.Task | None = None

    def _read_soon(self) -> None:
        if self._read_due is None:
            self._read_due = asyncio.get_running_loop().call_later(READ_DELAY, self._read_now)

    def _read_now(self) -> None:
        self._read_due = None
        if self.order.holding:
            self.link.changed.set()

    def _remember(self, event_id: int) -> bool:
        if event_id in self.seen:
            return False
        self.seen.add(event_id)
        self._seen_order.append(event_id)
        if len(self._seen_order) > SEEN_LIMIT:
            self.seen.discard(self._seen_order.popleft())
        return True

    def note_replayed(self, sid: str, event_ids: list[int]) -> None:
        now = time.monotonic()
        for event_id in event_ids:
            sids, _ = self.replayed.get(event_id, ([], now))
            self.replayed[event_id] = (sids + [sid], now)
        horizon = now - max(self.config.gateway_late_commit_window, 5.0)
        while self.replayed and (len(self.replayed) > 50_000 or next(iter(self.replayed.values()))[1] < horizon):
            self.replayed.popitem(last=False)

    async def deliver(self, envelopes: list[dict], from_log: bool = False) -> int:
        """Emit each new envelope once to its room, a room's in seq order (with
        the fast emitter: encoded and framed once, written to each idle
        websocket directly)."""
        sent = 0
        async with self._lock:
            for env in envelopes:
                event_id, room, seq = env.get("id"), env.get("room"), env.get("seq")
                if not isinstance(room, str) or not isinstance(env.get("type"), str):
                    continue
                if not isinstance(event_id, int):
                    sent += await self._emit(env)
                elif not self._remember(event_id):
                    continue
                elif type(seq) is not int:
                    sent += await self._emit(env)
                else:
                    for ready in self.order.admit(room, seq, env):
                        sent += await self._emit(ready)
            self._arm_timer()
        self.metrics.events_relayed += sent
        if from_log:
            self.metrics.events_from_log += sent
        return sent

    async def _emit(self, env: dict) -> int:
        type_, event_id = env["type"], env.get("id")
        if isinstance(event_id, int):
            # Rooms follow logged membership events only: a live-only
            # (id null) one is nobody's record of a change.
            membership.follow(self.registry, env)
            if self.sharded and membership.room_copy_elsewhere(self.registry, env):
                self.link.changed.set()
        if type_ in RESERVED or env["room"] == rooms.PRESENCE_LOG:
            return 0  # presence changes logged for webhooks: never a socket's
        self.registry.buffer(env)
        skip = self.replayed.pop(event_id, ([], 0))[0] if self.replayed else None
        await self.emitter.emit(type_, env, env["room"], skip_sid=skip)
        return 1

    async def _release(self, envelopes: list[dict]) -> None:
        """Emit what the order gave up waiting for (the lock is held)."""
        sent = 0
        for env in envelopes:
            sent += await self._emit(env)
        self.metrics.events_relayed += sent

    def _arm_timer(self) -> None:
        """One timer for the oldest held event, while any is held."""
        if self._timer is not None or not self.order.holding:
            return
        deadline = self.order.next_deadline()
        if deadline is not None:
            delay = max(0.0, deadline + HOLD - time.monotonic())
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._expiring is None or self._expiring.done():
            self._expiring = asyncio.ensure_future(self._expire())

    async def _expire(self) -> None:
        async with self._lock:
            await self._release(self.order.expired())
            self._arm_timer()

    async def on_channel_message(self, raw: bytes) -> None:
        envelopes = self.signed.envelopes(raw, "Redis event")
        if envelopes:
            await self.deliver(self._after_start(envelopes))

    def _after_start(self, envelopes: list[dict]) -> list[dict]:
        """Drop logged events committed before this process read the log's end:
        no socket here predates them (replay covers them), so on the bus they
        are a replay, e.g. an old participant:added aimed at a restarted
        gateway. Until the end is read, the log reader delivers them instead."""
        floor = self.reader.start_id
        kept = [e for e in envelopes
                if not isinstance(event_id := e.get("id"), int) or (floor is not None and event_id > floor)]
        if len(kept) < len(envelopes):
            self.metrics.channel_dropped["stale"] += len(envelopes) - len(kept)
        return kept

    async def read_log(self) -> int:
        """Deliver what the log has that was not delivered; returns the count.
        Then what waited for its predecessor since before the read goes out:
        committed before its successor, the predecessor would have been read."""
        delivered, number = 0, self.order.read_started()
        async for envelopes in self.reader.read(self.seen):
            delivered += await self.deliver(envelopes, from_log=True)
        async with self._lock:
            await self._release(self.order.read_done(number))
        return delivered

    async def run_reader(self) -> None:
        """Read the log: every poll interval without Redis (or while it is
        away), every safety interval while subscribed, and at once when the
        subscription comes or goes."""
        config, changed = self.config, self.link.changed  # the reader was started by gateway.app
        while True:
            interval = config.gateway_safety_interval if self.link.subscribed else config.gateway_poll_interval
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=interval)
            changed.clear()
            try:
                await self.read_log()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a database hiccup: try again next round
                log.warning("reading the event log failed; retrying: %s", cause(exc))
                await asyncio.sleep(min(1.0, interval * 5))
