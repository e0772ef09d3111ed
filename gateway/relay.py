"""Delivering committed events to the sockets of this process.

Two sources feed one `deliver`: the signed Redis channel (fast path) and the
log reader (`gateway.logreader`), which polls the `events` table when there is
no Redis, catches up after a lost subscription, and covers a lost publish.
A bounded set of delivered ids makes sure each event goes out once per
process whichever source brings it first.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from contextlib import suppress

from gateway import membership
from gateway.hub import Hub
from gateway.logreader import LogReader
from gateway.subscriber import Subscriber

log = logging.getLogger(__name__)
# Names Socket.IO clients treat specially: never emitted as events.
RESERVED = frozenset({"connect", "connect_error", "disconnect", "disconnecting", "error", "message",
                      "newListener", "removeListener", "ping", "pong"})
SEEN_LIMIT = 200_000


class Relay:
    def __init__(self, hub: Hub):
        self.hub = hub
        self.seen: set[int] = set()
        self._seen_order: deque[int] = deque()
        # event id -> (sids that already got it by replay, when), so the live copy skips them.
        self.replayed: OrderedDict[int, tuple[list[str], float]] = OrderedDict()
        self.reader = LogReader(hub)
        self.subscribed = False
        self.wake = asyncio.Event()
        self._lock = asyncio.Lock()

    @property
    def ephemeral_channel(self) -> str:
        return self.hub.config.events_channel + ":ephemeral"

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
        horizon = now - max(self.hub.config.gateway_late_commit_window, 5.0)
        while self.replayed and (len(self.replayed) > 50_000 or next(iter(self.replayed.values()))[1] < horizon):
            self.replayed.popitem(last=False)

    async def deliver(self, envelopes: list[dict], from_log: bool = False) -> int:
        """Emit each new envelope once to its room: encoded and framed once,
        written to each idle websocket directly (`gateway.fastemit`)."""
        sent = 0
        async with self._lock:
            for env in envelopes:
                event_id, room, type_ = env.get("id"), env.get("room"), env.get("type")
                if not isinstance(room, str) or not isinstance(type_, str) or type_ in RESERVED:
                    continue
                if isinstance(event_id, int) and not self._remember(event_id):
                    continue
                membership.follow(self.hub.registry, env)
                self.hub.registry.buffer(env)
                skip = self.replayed.pop(event_id, ([], 0))[0] if self.replayed else None
                await self.hub.fast.emit(type_, env, room, skip_sid=skip)
                sent += 1
        self.hub.metrics.events_relayed += sent
        if from_log:
            self.hub.metrics.events_from_log += sent
        return sent

    async def on_channel_message(self, raw: bytes) -> None:
        envelopes = self.hub.verified(raw, "Redis event")
        if envelopes:
            await self.deliver(envelopes)

    async def run_subscriber(self) -> None:
        """Subscribe, relay, and on any loss resubscribe with backoff; each
        (re)subscription wakes the log reader to catch up what was missed.

        Messages come in batches (`gateway.subscriber`) and are handled one at
        a time in the order Redis sent them."""
        config, backoff, once = self.hub.config, 0.1, False
        events = config.events_channel.encode()
        while True:
            subscriber = Subscriber(config.redis_url, [config.events_channel, self.ephemeral_channel])
            try:
                await subscriber.start()
                if once:
                    self.hub.metrics.redis_reconnects += 1
                    log.warning("Redis subscription re-established; catching up from the log")
                once, backoff, self.subscribed = True, 0.1, True
                self.wake.set()
                while True:
                    for channel, data in await subscriber.batch():
                        if channel == events:
                            await self.on_channel_message(data)
                        else:
                            await self.hub.fanout.receive(data)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any Redis failure: the log covers, we retry
                if self.subscribed:
                    log.warning("Redis subscription lost (%s); reading the log meanwhile", exc)
                self.subscribed = False
                self.wake.set()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                subscriber.close()

    async def run_reader(self) -> None:
        """Read the log: every poll interval without Redis (or while it is
        away), every safety interval while subscribed."""
        config = self.hub.config
        await self.reader.start()
        while True:
            interval = config.gateway_safety_interval if self.subscribed else config.gateway_poll_interval
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=interval)
            self.wake.clear()
            try:
                await self.reader.read(self)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a database hiccup: try again next round
                log.warning("reading the event log failed; retrying", exc_info=True)
                await asyncio.sleep(min(1.0, interval * 5))
