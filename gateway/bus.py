"""The Redis subscription that feeds the relay and the fan-out.

`Bus.run` subscribes to the event channel and its ephemeral sibling, hands
each message to its channel's handler in the order Redis sent them, and on
any loss resubscribes with backoff. `BusLink` says whether the subscription
is up: the fan-out publishes to Redis only then, and the relay's log reader
polls faster while it is not and is woken on each change to catch up.

The subscriber is `gateway.fast.subscriber.Subscriber` (hiredis, batches) or,
with GATEWAY_FAST_SUBSCRIBER=0 or untested library versions,
`PubSubSubscriber`: redis-py's asyncio PubSub behind the same interface.
"""
from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Awaitable, Callable, Iterable, Protocol

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.metrics import Metrics
from shared.events import BadSignature, ChannelVerifier

log = logging.getLogger(__name__)
Handler = Callable[[bytes], Awaitable[None]]


def ephemeral_channel(events_channel: str) -> str:
    """Where typing and presence go between gateways (never logged)."""
    return events_channel + ":ephemeral"


class BusLink:
    """Whether the Redis subscription is up; `changed` is set on each change
    (and by the relay when it wants a log read soon: it wakes the reader)."""

    def __init__(self) -> None:
        self.subscribed = False
        self.changed = asyncio.Event()

    def set(self, subscribed: bool) -> None:
        self.subscribed = subscribed
        self.changed.set()


class SignedChannel:
    """Envelopes out of signed channel messages (v2: signature, age, once
    each); forged, stale and replayed ones are dropped and counted."""

    def __init__(self, secret: str, metrics: Metrics, max_age: float = 60, accept_v1: bool = False):
        self.secret, self.metrics = secret, metrics
        self.verifier = ChannelVerifier(secret, max_age=max_age, accept_v1=accept_v1)

    def subscribed(self) -> None:
        """A subscription started: nothing published before it can arrive live."""
        self.verifier.subscribed()

    def envelopes(self, raw: bytes, channel: str) -> list[dict]:
        """The envelopes of a channel message, or an empty list when refused."""
        try:
            return self.verifier.verify(raw)
        except BadSignature as exc:
            self.metrics.channel_dropped[exc.reason] += 1
            log.warning("dropped a %s channel message: %s", channel, exc)
            return []


class Subscription(Protocol):
    """One subscribed connection: `start`, then `batch` until it raises, then `aclose`."""

    async def start(self) -> None: ...

    async def batch(self) -> list[tuple[bytes, bytes]]: ...

    async def aclose(self) -> None: ...


class PubSubSubscriber:
    """The library path: redis-py's asyncio PubSub, one message per batch."""

    def __init__(self, url: str, channels: Iterable[str], *, connect_timeout: float = 2.0,
                 health_check_interval: float = 10.0):
        self.channels = list(channels)
        self.poll = health_check_interval
        # No retries of its own: a lost connection ends this subscriber and the
        # bus resubscribes, counting the reconnect and waking the log reader.
        self.client = aioredis.Redis.from_url(url, socket_connect_timeout=connect_timeout,
                                              health_check_interval=health_check_interval,
                                              retry=Retry(NoBackoff(), 0))
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)

    async def start(self) -> None:
        await self.pubsub.subscribe(*self.channels)

    async def batch(self) -> list[tuple[bytes, bytes]]:
        while True:
            # A timeout, not a block forever: each call lets redis-py health-check the link.
            message = await self.pubsub.get_message(timeout=self.poll)
            if message is not None and message["type"] == "message":
                return [(message["channel"], message["data"])]

    async def aclose(self) -> None:
        try:
            await self.pubsub.aclose()
        finally:
            await self.client.aclose()


class Bus:
    def __init__(self, url: str, events_channel: str, on_event: Handler, on_ephemeral: Handler,
                 link: BusLink, signed: SignedChannel, metrics: Metrics,
                 subscriber: Callable[[str, list[str]], Subscription]):
        self.url, self.events_channel = url, events_channel
        self.on_event, self.on_ephemeral = on_event, on_ephemeral
        self.link, self.signed, self.metrics, self.subscriber = link, signed, metrics, subscriber

    async def run(self) -> None:
        """Subscribe, hand over, and on any loss resubscribe with backoff; each
        (re)subscription wakes the log reader to catch up what was missed."""
        backoff, once = 0.1, False
        events, on_event, on_ephemeral = self.events_channel.encode(), self.on_event, self.on_ephemeral
        while True:
            subscriber = self.subscriber(self.url, [self.events_channel, ephemeral_channel(self.events_channel)])
            try:
                await subscriber.start()
                self.signed.subscribed()
                if once:
                    self.metrics.redis_reconnects += 1
                    log.warning("Redis subscription re-established; catching up from the log")
                once, backoff = True, 0.1
                self.link.set(True)
                while True:
                    batch = await subscriber.batch()
                    self.metrics.bus_messages += len(batch)
                    for channel, data in batch:
                        if channel == events:
                            await on_event(data)
                        else:
                            await on_ephemeral(data)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any Redis failure: the log covers, we retry
                if self.link.subscribed:
                    log.warning("Redis subscription lost (%s); reading the log meanwhile", exc)
                self.link.set(False)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                with suppress(Exception):  # closing a broken connection
                    await subscriber.aclose()
