"""Typing and presence across gateway processes.

With Redis, messages go out on `<EVENTS_CHANNEL>:ephemeral`, signed like the
event channel, and every gateway (this one included) handles them when they
come back; without Redis, or while it is away, they are handled locally only.
They are never written to the log.
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

from redis.asyncio import Redis

from gateway.bus import BusLink, SignedChannel, ephemeral_channel
from shared.events import encode_channel_message

log = logging.getLogger(__name__)
Handler = Callable[[dict], Awaitable[None]]


class Fanout:
    """Publishes `{kind, origin, n, payload}`; `on(kind, handler)` subscribes a
    part (typing, presence) to a kind, as `sio.on` does for client events."""

    def __init__(self, gateway_id: str, events_channel: str, redis: Redis | None, link: BusLink,
                 signed: SignedChannel):
        self.gateway_id, self.channel = gateway_id, ephemeral_channel(events_channel)
        self.redis, self.link, self.signed = redis, link, signed
        self.handlers: dict[str, Handler] = {}
        self.sent = 0

    def on(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    async def publish(self, kind: str, payload: dict) -> None:
        await self.publish_many(kind, [payload])

    async def publish_many(self, kind: str, payloads: list[dict]) -> None:
        """Several payloads of one kind in one channel message."""
        messages = []
        for payload in payloads:
            # Numbered: the channel drops an exact repeat as a replay, and the same
            # typing start twice in one second (after a stop) is two messages.
            self.sent += 1
            messages.append({"kind": kind, "origin": self.gateway_id, "n": self.sent, "payload": payload})
        if not messages:
            return
        if self.redis is not None and self.link.subscribed:
            raw = encode_channel_message(messages, self.signed.secret)
            try:
                await self.redis.publish(self.channel, raw)
                return
            except Exception as exc:  # noqa: BLE001 - degrade to this process only
                log.warning("ephemeral publish failed (%s); delivering locally only", exc)
        for message in messages:
            await self.dispatch(message)

    async def receive(self, raw: bytes) -> None:
        for message in self.signed.envelopes(raw, "ephemeral"):
            await self.dispatch(message)

    async def dispatch(self, message: dict) -> None:
        handler = self.handlers.get(message.get("kind"))
        payload = message.get("payload")
        if handler is not None and isinstance(payload, dict):
            await handler(payload)
