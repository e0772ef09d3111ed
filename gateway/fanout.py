"""Typing and presence across gateway processes.

With Redis, messages go out on `<EVENTS_CHANNEL>:ephemeral`, signed like the
event channel, and every gateway (this one included) handles them when they
come back; without Redis, or while it is away, they are handled locally only.
They are never written to the log.
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

from gateway.hub import Hub
from shared.events import encode_channel_message

log = logging.getLogger(__name__)
Handler = Callable[[dict], Awaitable[None]]


class Fanout:
    def __init__(self, hub: Hub):
        self.hub = hub
        self.handlers: dict[str, Handler] = {}

    def on(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    async def publish(self, kind: str, payload: dict) -> None:
        message = {"kind": kind, "origin": self.hub.id, "payload": payload}
        relay = self.hub.relay
        if self.hub.redis is not None and relay.subscribed:
            raw = encode_channel_message([message], self.hub.config.events_signing_secret)
            try:
                await self.hub.redis.publish(relay.ephemeral_channel, raw)
                return
            except Exception as exc:  # noqa: BLE001 - degrade to this process only
                log.warning("ephemeral publish failed (%s); delivering locally only", exc)
        await self.dispatch(message)

    async def receive(self, raw: bytes) -> None:
        for message in self.hub.verified(raw, "ephemeral"):
            await self.dispatch(message)

    async def dispatch(self, message: dict) -> None:
        handler = self.handlers.get(message.get("kind"))
        payload = message.get("payload")
        if handler is not None and isinstance(payload, dict):
            await handler(payload)
