"""The lean Redis subscriber (gateway.fast.subscriber) and the bus loop on it
(and on redis-py's PubSub, the library path).

Real redis-server processes only: the shared one for traffic, throwaway ones
for what would disturb other tests (passwords, TLS, CLIENT KILL, kills).
Every test runs on the default asyncio loop and on uvloop (the gateway's).
"""
from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import time

import pytest
import redis
import redis.asyncio as aioredis
import uvloop
from redis.connection import parse_url

from gateway.bus import Bus, BusLink, PubSubSubscriber, SignedChannel, ephemeral_channel
from gateway.fanout import Fanout
from gateway.fast.subscriber import AuthError, Subscriber, SubscriberError
from gateway.metrics import Metrics
from shared.events import encode_channel_message
from tests.gateway.conftest import EVENTS_SECRET, SHARED_REDIS, RedisProcess, free_port

PASSWORD = "s3cret-for-the-subscriber-test"


@pytest.fixture(params=["asyncio", "uvloop"])
def drive(request):
    """drive(coro, timeout) runs one scenario on a fresh loop of each kind."""
    factory = uvloop.new_event_loop if request.param == "uvloop" else asyncio.new_event_loop

    def drive(coro, timeout: float = 60):
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(asyncio.wait_for(coro, timeout))

    return drive


async def publish(url: str, channel: str, messages: list[bytes]) -> None:
    """PUBLISH every message in one pipelined round trip (a fresh client:
    some tests restart the server in between)."""
    client = aioredis.from_url(url)
    try:
        async with client.pipeline(transaction=False) as pipe:
            for message in messages:
                pipe.publish(channel, message)
            await pipe.execute()
    finally:
        await client.aclose()


async def collect(subscriber: Subscriber, count: int, timeout: float = 20) -> list[tuple[bytes, bytes]]:
    got: list[tuple[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        got.extend(await asyncio.wait_for(subscriber.batch(), max(0.01, deadline - time.monotonic())))
    return got


async def until(predicate, timeout: float = 15, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


class CountingSubscriber(Subscriber):
    """Counts the reads the socket delivered, to show messages straddled them."""

    reads = 0

    def data_received(self, data: bytes) -> None:
        self.reads += 1
        super().data_received(data)


class TrickleProxy:
    """A loopback TCP relay to Redis that passes Redis's bytes on in small
    pieces (replies straddle reads) and can go silent like a dead link."""

    def __init__(self, upstream_port: int, sizes: tuple[int, ...] = (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233)):
        self.upstream_port, self.sizes = upstream_port, sizes
        self.silent = False
        self.tasks: list[asyncio.Task] = []
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> "TrickleProxy":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, client_reader, client_writer) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self.writers += [client_writer, up_writer]
        self.tasks += [asyncio.create_task(self._pipe(client_reader, up_writer, (65536,))),
                       asyncio.create_task(self._pipe(up_reader, client_writer, self.sizes))]

    async def _pipe(self, reader, writer, sizes) -> None:
        turn = 0
        while data := await reader.read(65536):
            while data and not self.silent:  # silent: bytes vanish, the sockets stay open
                size = sizes[turn % len(sizes)]
                turn += 1
                writer.write(data[:size])
                data = data[size:]
                await writer.drain()
                await asyncio.sleep(0)  # let the other side read this piece alone

    async def close(self) -> None:
        self.server.close()
        for task in self.tasks:
            task.cancel()
        for writer in self.writers:
            writer.close()
        await asyncio.gather(*self.tasks, return_exceptions=True)


class PasswordRedis(RedisProcess):
    """A throwaway redis-server that requires a password (`default` user) and
    has an ACL user `relay` with its own; set again after each restart."""

    def start(self) -> "PasswordRedis":
        super().start()
        with redis.Redis(port=self.port) as admin:
            admin.execute_command("ACL", "SETUSER", "relay", "on", ">relay-pw", "&*", "+@all")
            admin.config_set("requirepass", PASSWORD)
        return self


@pytest.fixture
def password_redis():
    server = PasswordRedis(free_port()).start()
    yield server
    server.kill()


class TestDelivery:
    def test_messages_on_both_channels_arrive_in_order(self, drive, channel):
        other = channel + ":ephemeral"
        want = [((other if n % 3 == 0 else channel).encode(), b"m%d" % n) for n in range(300)]

        async def scenario():
            subscriber = Subscriber(SHARED_REDIS, [channel, other])
            client = aioredis.from_url(SHARED_REDIS)
            try:
                await subscriber.start()
                for target, data in want:  # one by one: many small reads
                    await client.publish(target.decode(), data)
                return await collect(subscriber, len(want))
            finally:
                subscriber.close()
                await client.aclose()

        assert drive(scenario()) == want

    def test_a_pipelined_burst_of_20000_arrives_complete_and_in_order(self, drive, channel):
        count = 20_000
        want = [b"%06d:" % n + b"x" * 243 for n in range(count)]

        async def scenario():
            subscriber = Subscriber(SHARED_REDIS, [channel])
            try:
                await subscriber.start()
                sender = asyncio.create_task(publish(SHARED_REDIS, channel, want))
                got, batches = [], 0
                while len(got) < count:
                    got += await asyncio.wait_for(subscriber.batch(), 20)
                    batches += 1
                await sender
                return got, batches
            finally:
                subscriber.close()

        got, batches = drive(scenario())
        assert [data for _, data in got] == want
        assert {name for name, _ in got} == {channel.encode()}
        assert batches < count  # taken in bulk, not one wake-up per message

    def test_large_binary_payloads_arrive_whole(self, drive, channel):
        # Random bytes contain \r\n and every other byte; sizes straddle the loop's 64-256 KB reads.
        want = [os.urandom(size) for size in (65_537, 10, 300_000, 2_000_000, 0, 131_072)]

        async def scenario():
            subscriber = Subscriber(SHARED_REDIS, [channel])
            try:
                await subscriber.start()
                await publish(SHARED_REDIS, channel, want)
                return await collect(subscriber, len(want))
            finally:
                subscriber.close()

        assert [data for _, data in drive(scenario())] == want

    def test_replies_split_across_many_reads(self, drive, channel):
        port = parse_url(SHARED_REDIS).get("port", 6379)
        want = [b"m%d:" % n + b"y" * (n * 37 % 1000) for n in range(150)]

        async def scenario():
            proxy = await TrickleProxy(port).start()
            subscriber = CountingSubscriber(f"redis://127.0.0.1:{proxy.port}/0", [channel])
            try:
                await subscriber.start()
                await publish(SHARED_REDIS, channel, want)
                return await collect(subscriber, len(want)), subscriber.reads
            finally:
                subscriber.close()
                await proxy.close()

        got, reads = drive(scenario())
        assert [data for _, data in got] == want
        assert reads > 3 * len(want)  # most messages came in several pieces

    def test_a_slow_consumer_pauses_reading_and_loses_nothing(self, drive, channel):
        want = [b"%05d:" % n + b"z" * 994 for n in range(5000)]  # 5 MB

        async def scenario():
            # Fast health checks: while paused, the PONG waits behind unread messages.
            subscriber = Subscriber(SHARED_REDIS, [channel], max_pending_bytes=64 * 1024,
                                    health_check_interval=0.05, reply_timeout=0.05)
            try:
                await subscriber.start()
                await publish(SHARED_REDIS, channel, want)
                await until(lambda: subscriber.paused, what="reading paused")
                await asyncio.sleep(0.5)  # several health checks while paused
                assert subscriber.paused
                got = await collect(subscriber, len(want))
                return got, subscriber.paused
            finally:
                subscriber.close()

        got, paused_at_end = drive(scenario())
        assert [data for _, data in got] == want
        assert not paused_at_end


class TestAuthAndTls:
    def test_password_and_acl_user_from_the_url(self, drive, password_redis, channel):
        urls = [f"redis://:{PASSWORD}@127.0.0.1:{password_redis.port}/0",
                f"redis://relay:relay-pw@127.0.0.1:{password_redis.port}/3"]

        async def scenario():
            subscribers = [Subscriber(url, [channel]) for url in urls]
            try:
                for subscriber in subscribers:
                    await subscriber.start()
                await publish(urls[0], channel, [b"hello"])
                return [await collect(subscriber, 1) for subscriber in subscribers]
            finally:
                for subscriber in subscribers:
                    subscriber.close()

        assert drive(scenario()) == [[(channel.encode(), b"hello")]] * 2

    def test_wrong_or_missing_credentials_fail_clearly_and_fast(self, drive, password_redis, channel):
        base = f"127.0.0.1:{password_redis.port}/0"

        async def attempt(url: str) -> tuple[Exception, float]:
            subscriber, began = Subscriber(url, [channel]), time.monotonic()
            try:
                await subscriber.start()
            except Exception as exc:  # noqa: BLE001 - the exception is the result
                return exc, time.monotonic() - began
            finally:
                subscriber.close()
            raise AssertionError(f"{url} subscribed")

        async def scenario():
            return [await attempt(url) for url in
                    (f"redis://:wrong@{base}", f"redis://relay:wrong@{base}", f"redis://{base}")]

        (wrong, t1), (wrong_user, t2), (missing, t3) = drive(scenario())
        assert isinstance(wrong, AuthError) and "WRONGPASS" in str(wrong), wrong
        assert isinstance(wrong_user, AuthError) and "WRONGPASS" in str(wrong_user), wrong_user
        assert isinstance(missing, SubscriberError) and "NOAUTH" in str(missing), missing
        assert max(t1, t2, t3) < 2  # refused at once, not by a timeout

    def test_rediss_with_the_default_ssl_context(self, drive, throwaway_redis, channel, tmp_path, monkeypatch):
        cert = self_signed_certificate(tmp_path)
        tls_port = free_port()
        with redis.Redis(port=throwaway_redis.port) as admin:
            admin.config_set("tls-cert-file", cert)
            admin.config_set("tls-key-file", str(tmp_path / "key.pem"))
            admin.config_set("tls-ca-cert-file", cert)
            admin.config_set("tls-auth-clients", "no")
            admin.config_set("tls-port", tls_port)
        monkeypatch.setenv("SSL_CERT_FILE", cert)  # the default context trusts it

        async def scenario():
            subscriber = Subscriber(f"rediss://127.0.0.1:{tls_port}/0", [channel])
            try:
                await subscriber.start()
                await publish(throwaway_redis.url, channel, [b"over tls", b"x" * 100_000])
                return await collect(subscriber, 2)
            finally:
                subscriber.close()

        assert [data for _, data in drive(scenario())] == [b"over tls", b"x" * 100_000]


class TestFailures:
    def test_client_kill_and_server_restart_end_the_connection_promptly(self, drive, throwaway_redis, channel):
        async def scenario():
            first = Subscriber(throwaway_redis.url, [channel])
            second = Subscriber(throwaway_redis.url, [channel])
            refused = Subscriber(throwaway_redis.url, [channel])
            third = Subscriber(throwaway_redis.url, [channel])
            try:
                await first.start()
                with redis.Redis(port=throwaway_redis.port) as admin:
                    admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
                with pytest.raises(SubscriberError, match="closed|lost"):
                    await asyncio.wait_for(first.batch(), 5)

                await second.start()
                await publish(throwaway_redis.url, channel, [b"after kill"])
                assert await collect(second, 1) == [(channel.encode(), b"after kill")]
                throwaway_redis.kill()
                with pytest.raises(SubscriberError):
                    await asyncio.wait_for(second.batch(), 5)
                with pytest.raises(OSError):  # refused while the server is down
                    await refused.start()

                throwaway_redis.start()
                await third.start()
                await publish(throwaway_redis.url, channel, [b"after restart"])
                assert await collect(third, 1) == [(channel.encode(), b"after restart")]
            finally:
                for subscriber in (first, second, refused, third):
                    subscriber.close()

        drive(scenario())

    def test_health_pings_keep_an_idle_link_and_detect_a_dead_one(self, drive, channel):
        port = parse_url(SHARED_REDIS).get("port", 6379)

        async def scenario():
            proxy = await TrickleProxy(port, sizes=(65536,)).start()
            subscriber = Subscriber(f"redis://127.0.0.1:{proxy.port}/0", [channel],
                                    health_check_interval=0.1, reply_timeout=0.3)
            try:
                await subscriber.start()
                await asyncio.sleep(1.0)  # idle: several PINGs, each answered
                await publish(SHARED_REDIS, channel, [b"still here"])
                assert await collect(subscriber, 1) == [(channel.encode(), b"still here")]
                proxy.silent = True
                began = time.monotonic()
                with pytest.raises(SubscriberError, match="PING"):
                    await asyncio.wait_for(subscriber.batch(), 5)
                return time.monotonic() - began
            finally:
                subscriber.close()
                await proxy.close()

        assert drive(scenario()) < 2.0

    def test_a_server_that_never_confirms_times_out(self, drive, channel):
        async def scenario():
            mute = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
            port = mute.sockets[0].getsockname()[1]
            subscriber = Subscriber(f"redis://127.0.0.1:{port}", [channel], reply_timeout=0.3)
            try:
                with pytest.raises(SubscriberError, match="did not confirm"):
                    await subscriber.start()
            finally:
                subscriber.close()
                mute.close()

        drive(scenario(), timeout=10)


@pytest.mark.parametrize("subscriber", [Subscriber, PubSubSubscriber], ids=["fast", "library"])
def test_the_bus_resubscribes_after_client_kill_and_restart(drive, throwaway_redis, channel, subscriber):
    """The real subscriber loop; event-channel messages are recorded instead
    of emitted to sockets (the end-to-end tests cover emitting)."""
    url = throwaway_redis.url

    async def scenario():
        metrics, link, received = Metrics(), BusLink(), []
        signed = SignedChannel(EVENTS_SECRET, metrics)
        fanout = Fanout("test", channel, None, link, signed)

        async def record(raw: bytes) -> None:
            await asyncio.sleep(0)  # an async handler, awaited one message at a time
            received.append(raw)

        pokes: list[dict] = []

        async def on_poke(payload: dict) -> None:
            pokes.append(payload)

        fanout.on("poke", on_poke)
        bus = Bus(url, channel, record, fanout.receive, link, signed, metrics, subscriber)
        task = asyncio.create_task(bus.run())
        try:
            await until(lambda: link.subscribed, what="first subscription")
            await publish(url, channel, [b"a%d" % n for n in range(1000)])
            poke = encode_channel_message([{"kind": "poke", "origin": "test", "payload": {"n": 1}}], EVENTS_SECRET)
            await publish(url, ephemeral_channel(channel), [poke])
            await until(lambda: len(received) == 1000 and pokes, what="first round")

            link.changed.clear()
            with redis.Redis(port=throwaway_redis.port) as admin:
                admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            await until(lambda: metrics.redis_reconnects == 1 and link.subscribed, what="resubscription")
            assert link.changed.is_set()  # the log reader is told to catch up
            await publish(url, channel, [b"b%d" % n for n in range(1000)])
            await until(lambda: len(received) == 2000, what="second round")

            throwaway_redis.kill()
            await until(lambda: not link.subscribed, what="loss noticed")
            throwaway_redis.start()
            await until(lambda: metrics.redis_reconnects == 2 and link.subscribed, what="after restart")
            await publish(url, channel, [b"c%d" % n for n in range(1000)])
            await until(lambda: len(received) == 3000, what="third round")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
        with redis.Redis(port=throwaway_redis.port) as admin:  # cancelled: its connection is closed
            await until(lambda: not admin.execute_command("CLIENT", "LIST", "TYPE", "pubsub"), what="closed")
        return received, pokes

    received, pokes = drive(scenario())
    assert received == [b"%s%d" % (p, n) for p in (b"a", b"b", b"c") for n in range(1000)]
    assert pokes == [{"n": 1}]


def self_signed_certificate(directory) -> str:
    """A certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    (directory / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path = directory / "cert.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)
