"""A lean Socket.IO v4 load client: many websockets in one asyncio process.

It speaks Engine.IO v4 over a raw websocket written by hand (an
`asyncio.Protocol` per socket, no per-message objects) so that one process
can take tens of thousands of deliveries a second and the client is not what
a benchmark measures. Only what a benchmark needs: `0{...}` open, `40{auth}`
connect, `2`/`3` ping/pong, `42[...]` events. An event's latency is read from
the marker `bt=<monotonic send time>|<n>~` anywhere in its text, put there by
`bench.publisher` or in a message body by `bench.api_load` (CLOCK_MONOTONIC is
one clock for every process on the machine).

Driven over stdin/stdout, one JSON object a line (see `handle`):
`python -m bench.loadclient --ports 8001,8002 --secret S`.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
import time

import jwt

BT = b"bt="
NOTIFICATION = b'42["notification:'
REQUEST = (
    "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
    "Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def frame(payload: bytes) -> bytes:
    """A masked text frame. The all-zero mask is legal and makes masking a no-op."""
    n = len(payload)
    if n < 126:
        head = bytes((0x81, 0x80 | n))
    elif n < 65536:
        head = bytes((0x81, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload


PONG = frame(b"3")


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.latencies: list[float] = []
        self.counts: dict[int, int] = {}
        self.first = self.last = 0.0


class Conn(asyncio.Protocol):
    def __init__(self, client: "Client", token: str, port: int):
        self.client, self.token, self.port = client, token, port
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.upgraded = False
        self.ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(REQUEST.format(port=self.port, key=key).encode())

    def connection_lost(self, exc) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before connect: {exc}"))
        elif self.client.running:
            self.client.dropped += 1

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if b" 101 " not in buf[:end]:
                self._fail(f"no upgrade: {buf[:end][:200]!r}")
                return
            self.upgraded = True
            buf = buf[end + 4:]
        pos, size = 0, len(buf)
        while size - pos >= 2:
            opcode, length = buf[pos] & 0x0F, buf[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length, start = int.from_bytes(buf[pos + 2:pos + 4], "big"), pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, start = int.from_bytes(buf[pos + 2:pos + 10], "big"), pos + 10
            end = start + length
            if end > size:
                break
            if opcode == 1:
                self.on_text(buf[start:end])
            elif opcode == 9:
                self.transport.write(bytes((0x8A, 0x80)) + b"\0\0\0\0")
            elif opcode == 8:
                self.transport.close()
            pos = end
        self.buf = buf[pos:] if pos < size else b""

    def on_text(self, msg: bytes) -> None:
        kind = msg[:2]
        if kind == b"42":
            # A sent message's notification quotes its body, marker and all:
            # only the event itself is timed (and counted once).
            i = -1 if msg.startswith(NOTIFICATION) else msg.find(BT)
            if i < 0:
                return
            i += 3
            j = msg.index(b"~", i)
            t0, _, n = msg[i:j].partition(b"|")
            now = time.monotonic()
            stats = self.client.stats
            stats.latencies.append(now - float(t0))
            n = int(n)
            stats.counts[n] = stats.counts.get(n, 0) + 1
            if not stats.first:
                stats.first = now
            stats.last = now
        elif msg == b"2":
            self.transport.write(PONG)
        elif kind == b"0{":
            self.transport.write(frame(b"40" + json.dumps({"token": self.token}).encode()))
        elif kind == b"40":
            if not self.ready.done():
                self.ready.set_result(True)
        elif kind == b"44":
            self._fail(f"refused: {msg[:200]!r}")

    def _fail(self, why: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(why))
        if self.transport is not None:
            self.transport.close()


class Client:
    def __init__(self, ports: list[int], secret: str, role: str):
        self.ports, self.secret, self.role = ports, secret, role
        self.conns: list[Conn] = []
        self.stats = Stats()
        self.dropped = 0
        self.running = True

    def token(self, uid: int) -> str:
        now = int(time.time())
        claims = {"sub": str(uid), "role": self.role, "iat": now, "exp": now + 3600}
        return jwt.encode(claims, self.secret, algorithm="HS256")

    async def open(self, uid: int, timeout: float) -> Conn:
        loop = asyncio.get_running_loop()
        port = self.ports[uid % len(self.ports)]
        # Spread sockets over 127.0.0.x sources: each source has its own ephemeral ports.
        source = f"127.0.0.{1 + uid % 4}"
        _, conn = await asyncio.wait_for(
            loop.create_connection(lambda: Conn(self, self.token(uid), port), "127.0.0.1", port,
                                   local_addr=(source, 0)),
            timeout,
        )
        try:
            await asyncio.wait_for(conn.ready, timeout)
        except BaseException:
            conn.transport.close()
            raise
        return conn

    async def connect(self, first: int, count: int, concurrency: int, timeout: float) -> dict:
        sem = asyncio.Semaphore(concurrency)
        errors: dict[str, int] = {}

        async def one(uid: int) -> None:
            async with sem:
                try:
                    self.conns.append(await self.open(uid, timeout))
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    key = f"{type(exc).__name__}: {exc}"[:120]
                    errors[key] = errors.get(key, 0) + 1

        started = time.monotonic()
        await asyncio.gather(*(one(uid) for uid in range(first, first + count)))
        return {"connected": count - sum(errors.values()), "failed": sum(errors.values()),
                "errors": errors, "secs": time.monotonic() - started, "open": len(self.conns)}

    async def wait(self, expect: int, timeout: float, settle: float) -> dict:
        """Wait until `expect` deliveries arrived (or timeout), then `settle`
        more seconds to catch duplicates; report latency percentiles in ms."""
        deadline = time.monotonic() + timeout
        while self.received() < expect and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(settle)
        stats = self.stats
        lat = sorted(stats.latencies)
        counts = stats.counts.values()

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 3) if lat else None

        return {"received": len(lat), "expected": expect, "lost": max(0, expect - len(lat)),
                "events": len(stats.counts), "max_per_event": max(counts) if counts else 0,
                "p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99),
                "max": round(lat[-1] * 1000, 3) if lat else None,
                "first": stats.first, "last": stats.last, "dropped": self.dropped,
                "open": sum(1 for c in self.conns if not c.closed)}

    def received(self) -> int:
        return len(self.stats.latencies)

    async def handle(self, cmd: dict) -> dict:
        op = cmd["cmd"]
        if op == "connect":
            return await self.connect(cmd["first"], cmd["count"], cmd.get("concurrency", 100),
                                      cmd.get("timeout", 30.0))
        if op == "reset":
            self.stats.reset()
            return {"ok": True}
        if op == "wait":
            return await self.wait(cmd["expect"], cmd.get("timeout", 30.0), cmd.get("settle", 0.3))
        if op == "close":
            self.running = False
            for conn in self.conns:
                conn.transport.close()
            self.conns.clear()
            return {"ok": True}
        raise ValueError(f"unknown command {op!r}")


async def serve(client: Client) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            break
        try:
            reply = await client.handle(cmd)
        except Exception as exc:  # noqa: BLE001 - the harness reports it
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    client.running = False


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadclient")
    parser.add_argument("--ports", required=True, help="comma list; user i goes to ports[i %% len]")
    parser.add_argument("--secret", required=True, help="JWT HS256 secret")
    parser.add_argument("--role", default="student")
    args = parser.parse_args()
    import uvloop

    client = Client([int(p) for p in args.ports.split(",")], args.secret, args.role)
    uvloop.run(serve(client))


if __name__ == "__main__":
    main()
