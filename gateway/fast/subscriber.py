"""A lean Redis pub/sub subscriber: one connection, bulk reads, hiredis parsing.

redis-py's `PubSub.get_message()` costs 8-16 µs per message (a timeout
context, a timer and pure-Python bookkeeping around every reply). Here an
`asyncio.Protocol` feeds each chunk the socket gives (often hundreds of
messages) to one `hiredis.Reader`, the C RESP parser, and queues the messages
it parses; the consumer takes them as a batch, in order, with one wake-up per
chunk rather than one per message.

One `Subscriber` is one connection: it ends on the first failure (refused,
reset, EOF, refused AUTH, no reply to a health PING) and the owner opens a
new one (`gateway.bus.Bus.run` backs off and resubscribes; with
GATEWAY_FAST_SUBSCRIBER=0 it uses `gateway.bus.PubSubSubscriber`, redis-py's
asyncio PubSub behind the same interface).

    subscriber = Subscriber("redis://:secret@127.0.0.1:6379/0", ["rt:events"])
    try:
        await subscriber.start()            # connected, authenticated, subscribed
        while True:
            for channel, data in await subscriber.batch():
                ...                          # channel and data are bytes
    finally:
        subscriber.close()
"""
from __future__ import annotations

import asyncio
import ssl
from typing import Iterable

import hiredis
from redis.connection import parse_url

# Received but not yet taken by the consumer: beyond this, stop reading so a
# slow consumer pushes back on Redis over TCP instead of growing memory.
MAX_PENDING_BYTES = 4 * 1024 * 1024


class SubscriberError(ConnectionError):
    """The subscription connection failed or ended."""


class AuthError(SubscriberError):
    """Redis refused the credentials of the URL."""


def pack(*args: str | bytes) -> bytes:
    """A command as RESP: an array of bulk strings (hiredis only parses)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        raw = arg.encode() if isinstance(arg, str) else arg
        parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(parts)


class Subscriber(asyncio.Protocol):
    """Subscribes one connection to `channels`; `batch()` yields what arrives.

    Works on the default event loop and under uvloop (plain Protocol API).
    """

    def __init__(self, url: str, channels: Iterable[str], *, connect_timeout: float = 2.0,
                 reply_timeout: float = 5.0, health_check_interval: float = 10.0,
                 max_pending_bytes: int = MAX_PENDING_BYTES):
        self.url = url
        self.channels = [c.encode() for c in channels]
        self.connect_timeout = connect_timeout
        # How long AUTH/SUBSCRIBE, and a health PING, may go unanswered.
        self.reply_timeout = reply_timeout
        self.health_check_interval = health_check_interval
        self.max_pending_bytes = max_pending_bytes
        self._reader = hiredis.Reader()
        self._transport: asyncio.Transport | None = None
        self._backlog: list[tuple[bytes, bytes]] = []
        self._pending_bytes = 0
        self._paused = False
        self._waiter: asyncio.Future | None = None  # batch() waiting for messages
        self._ready: asyncio.Future | None = None  # start() waiting for the confirmations
        self._expect_auth = False
        self._unconfirmed = set(self.channels)
        self._error: Exception | None = None
        # Health: anything received since the last check proves the link alive.
        self._received = False
        self._ping_pending = False
        self._timer: asyncio.TimerHandle | None = None

    # -- the consumer's side ------------------------------------------------

    async def start(self) -> None:
        """Connect, AUTH if the URL has a password, SUBSCRIBE; return once
        Redis confirmed every channel. Raises SubscriberError (AuthError for
        refused credentials; also for timeouts) or OSError (refused, TLS)."""
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        options = parse_url(self.url)
        try:
            try:
                await asyncio.wait_for(self._connect(loop, options), self.connect_timeout)
            except asyncio.TimeoutError:
                raise SubscriberError(f"could not connect to Redis within {self.connect_timeout}s") from None
            password = options.get("password")
            commands = []
            if password:
                self._expect_auth = True
                username = options.get("username")
                commands.append(pack("AUTH", username, password) if username else pack("AUTH", password))
            commands.append(pack("SUBSCRIBE", *self.channels))
            if self._transport is None:  # lost as soon as made
                raise self._error or SubscriberError("Redis closed the connection")
            self._transport.write(b"".join(commands))
            try:
                await asyncio.wait_for(asyncio.shield(self._ready), self.reply_timeout)
            except asyncio.TimeoutError:
                raise SubscriberError(f"Redis did not confirm the subscription within {self.reply_timeout}s") from None
            if self._error is not None:
                raise self._error
        except BaseException:
            self.close()
            raise
        self._schedule_health(self.health_check_interval)

    async def batch(self) -> list[tuple[bytes, bytes]]:
        """Every (channel, data) received since the last call, in order; waits
        for at least one. Raises SubscriberError once the connection is over
        and everything it delivered was taken."""
        while not self._backlog:
            if self._error is not None:
                raise self._error
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        batch, self._backlog, self._pending_bytes = self._backlog, [], 0
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        return batch

    @property
    def paused(self) -> bool:
        """True while reading waits for the consumer to take a batch."""
        return self._paused

    def close(self) -> None:
        """Drop the connection now (idempotent); safe from any state."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._fail(SubscriberError("subscriber closed"))

    async def aclose(self) -> None:
        """`close()` for owners that close any subscription with an await (`gateway.bus.Bus`)."""
        self.close()

    async def _connect(self, loop: asyncio.AbstractEventLoop, options: dict) -> None:
        if self.url.startswith("unix://"):
            await loop.create_unix_connection(lambda: self, options["path"])
            return
        host, port = options.get("host", "localhost"), options.get("port", 6379)
        tls = ssl.create_default_context() if self.url.startswith("rediss://") else None
        await loop.create_connection(lambda: self, host, port, ssl=tls)

    # -- the protocol's side (called by the event loop) -------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._received = True
        reader = self._reader
        reader.feed(data)
        backlog = self._backlog
        try:
            reply = reader.gets()
            while reply is not False:
                # The hot path: a published message is [b"message", channel, data].
                if type(reply) is list and reply[0] == b"message":
                    backlog.append((reply[1], reply[2]))
                else:
                    self._on_other(reply)
                reply = reader.gets()
        except hiredis.ProtocolError as exc:
            self._fail(SubscriberError(f"unreadable reply from Redis: {exc}"))
        if backlog:
            self._pending_bytes += len(data)
            if self._pending_bytes > self.max_pending_bytes and not self._paused and self._transport is not None:
                self._paused = True
                self._transport.pause_reading()
            self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        reason = f"connection to Redis lost: {exc}" if exc else "Redis closed the connection"
        self._fail(SubscriberError(reason))

    def _on_other(self, reply) -> None:
        """Anything but a message: AUTH's answer, confirmations, PONG, errors."""
        if isinstance(reply, hiredis.ReplyError):
            if self._expect_auth:
                self._fail(AuthError(f"Redis refused AUTH: {reply}"))
            else:
                self._fail(SubscriberError(f"Redis replied with an error: {reply}"))
        elif self._expect_auth:
            self._expect_auth = False  # +OK
        elif type(reply) is list and reply and reply[0] == b"subscribe":
            self._unconfirmed.discard(reply[1])
            if not self._unconfirmed and self._ready is not None and not self._ready.done():
                self._ready.set_result(None)
        # [b"pong", b""] answers a health PING: receiving it was the point.

    def _fail(self, error: Exception) -> None:
        """End the connection with `error` (the first one wins)."""
        if self._error is None:
            self._error = error
        if self._transport is not None:
            self._transport.abort()
        self._wake()
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- health -------------------------------------------------------------

    def _schedule_health(self, delay: float) -> None:
        if self._error is None:
            self._timer = asyncio.get_running_loop().call_later(delay, self._check_health)

    def _check_health(self) -> None:
        """Every interval: PING an idle connection; if the next check finds
        nothing received since, the connection is dead. Paused reading (a slow
        consumer) counts as alive: the PONG may be queued behind messages."""
        self._timer = None
        if self._received or self._paused:
            self._received = self._ping_pending = False
            self._schedule_health(self.health_check_interval)
        elif self._ping_pending:
            self._fail(SubscriberError(f"no reply to PING within {self.reply_timeout}s"))
        elif self._transport is not None:
            self._ping_pending = True
            self._transport.write(pack("PING"))
            self._schedule_health(self.reply_timeout)
