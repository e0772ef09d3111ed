"""Typing and presence across gateway processes.

With Redis, messages go out on `<EVENTS_CHANNEL>:ephemeral`, signed like the
event channel, and every gateway (this one included) handles them when they
come back; without Redis, or while it is away, they are handled locally only.
They are never written to the log.

On Redis Cluster (`gateway.sharded_bus`) each message goes with SPUBLISH to
the ephemeral channel of each room it is for (typing: its conversation;
presence: the principal's conversations), so only the gateways holding those
rooms get it. A gateway holding several of them gets one copy per room and
handles the first (messages are numbered per origin).
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Awaitable, Callable, Iterable

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from gateway.bus import BusLink, SignedChannel, ephemeral_channel
from shared.events import encode_channel_message, ephemeral_room_channel

log = logging.getLogger(__name__)
Handler = Callable[[dict], Awaitable[None]]
SEEN_LIMIT = 10_000  # (origin, n) of recent messages, to handle each once


class Fanout:
    """Publishes `{kind, origin, n, payload}`; `on(kind, handler)` subscribes a
    part (typing, presence) to a kind, as `sio.on` does for client events."""

    def __init__(self, gateway_id: str, events_channel: str, redis: Redis | None, link: BusLink,
                 signed: SignedChannel, cluster: RedisCluster | None = None):
        """`cluster`: publish per room on Redis Cluster instead of on `redis`'s one channel."""
        self.gateway_id, self.channel = gateway_id, ephemeral_channel(events_channel)
        self.events_channel = events_channel
        self.redis, self.link, self.signed, self.cluster = redis, link, signed, cluster
        self.handlers: dict[str, Handler] = {}
        self.sent = 0
        self.seen: OrderedDict[tuple, None] = OrderedDict()

    def on(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    async def publish(self, kind: str, payload: dict, rooms: Iterable[str] = ()) -> None:
        await self.publish_many(kind, [payload], lambda _: rooms)

    async def publish_many(self, kind: str, payloads: list[dict],
                           rooms_of: Callable[[dict], Iterable[str]] = lambda _: ()) -> None:
        """Several payloads of one kind in one channel message (per room on
        the cluster: `rooms_of(payload)` names the rooms each is for)."""
        messages = []
        for payload in payloads:
            # Numbered: the channel drops an exact repeat as a replay, and the same
            # typing start twice in one second (after a stop) is two messages.
            self.sent += 1
            messages.append({"kind": kind, "origin": self.gateway_id, "n": self.sent, "payload": payload})
        if not messages:
            return
        if (self.redis is not None or self.cluster is not None) and self.link.subscribed:
            try:
                if self.cluster is not None:
                    await self._publish_per_room(messages, [list(rooms_of(p)) for p in payloads])
                else:
                    await self.redis.publish(self.channel, encode_channel_message(messages, self.signed.secret))
                return
            except Exception as exc:  # noqa: BLE001 - degrade to this process only
                log.warning("ephemeral publish failed (%s); delivering locally only", exc)
        for message in messages:
            await self.dispatch(message)

    async def _publish_per_room(self, messages: list[dict], rooms: list[list[str]]) -> None:
        per_room: dict[str, list[dict]] = {}
        for message, its_rooms in zip(messages, rooms, strict=True):
            for room in its_rooms:
                # `to` makes each room's copy distinct bytes: the verifier would
                # take the second copy of identical bytes for a replay.
                per_room.setdefault(room, []).append({**message, "to": room})
        for room, group in per_room.items():
            raw = encode_channel_message(group, self.signed.secret)
            await self.cluster.spublish(ephemeral_room_channel(self.events_channel, room), raw)

    async def receive(self, raw: bytes) -> None:
        for message in self.signed.envelopes(raw, "ephemeral"):
            await self.dispatch(message)

    def _first_time(self, message: dict) -> bool:
        n = message.get("n")
        if not isinstance(n, int):
            return True
        key = (message.get("origin"), n)
        if key in self.seen:
            return False
        self.seen[key] = None
        if len(self.seen) > SEEN_LIMIT:
            self.seen.popitem(last=False)
        return True

    async def dispatch(self, message: dict) -> None:
        if not self._first_time(message):
            return
        handler = self.handlers.get(message.get("kind"))
        payload = message.get("payload")
        if handler is not None and isinstance(payload, dict):
            await handler(payload)
