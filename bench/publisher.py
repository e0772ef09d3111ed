"""Publish benchmark events on Redis at a fixed rate, from a process of its own.

- `--kind stock`: python-socketio's write-only `RedisManager.emit(...)`, the
  documented way to emit from outside a python-socketio server.
- `--kind ours`: the project's own channel format (`shared.events.
  encode_channel_message`, what `RedisPublisher.publish` sends: one signed
  message per envelope, as after one API commit).
- `--kind node`: @socket.io/redis-emitter's format for the classic Redis
  adapter (`bench.redis_emitter.encode`, proved equal to the real emitter's
  bytes at bench start), on channel `<key>#/#<room>#`; `--channel` is the key.

Events due in the same millisecond tick go out in one write, for every kind
alike, through `RawPublish`: PUBLISH commands packed as RESP and written on
one socket, their integer replies counted off the same socket. The message
bytes are the library's (stock), the project's (ours) and the real emitter's
format (node); only the transport
is shared and lean, so the publisher keeps up with rates a server cannot on
the one core it shares with the load client and Redis (redis-py's pipeline
cost about 30 µs per event, more than the servers under test).

Each event's data is `{"b": "bt=<CLOCK_MONOTONIC send time>|<n>~"}`, read by
`bench.loadclient`. `--mode relay` sends event n to the personal room of
user `1 + n % users`; `--mode fanout` sends every event to room `everyone`.
Prints one JSON line: how many were sent, over how long.
"""
from __future__ import annotations

import argparse
import json
import socket
import time
from urllib.parse import unquote, urlparse

from gateway.fast.subscriber import pack  # RESP command packing, shared with the gateway's subscriber

# Far above any real event id, so the gateway's log reader never confuses them.
ID_BASE = 10**12


class RawPublish:
    """PUBLISH over one plain socket: a batch is one write, then its replies."""

    def __init__(self, url: str):
        parsed = urlparse(url)
        if parsed.scheme != "redis":
            raise SystemExit(f"bench publisher: only redis:// URLs (got {parsed.scheme}://)")
        self.sock = socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if parsed.password:
            user = unquote(parsed.username) if parsed.username else None
            auth = (user.encode(), unquote(parsed.password).encode()) if user else (unquote(parsed.password).encode(),)
            self.batch([], extra=pack("AUTH", *auth))

    def batch(self, messages: list[tuple[str, bytes]], extra: bytes = b"") -> None:
        """Publish (channel, payload) pairs; raise on any error reply."""
        expected = len(messages) + (1 if extra else 0)
        self.sock.sendall(extra + b"".join(pack("PUBLISH", ch, data) for ch, data in messages))
        buf = b""
        while buf.count(b"\r\n") < expected:  # each reply (integer, +OK or error) is one line
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("Redis closed the connection")
            buf += chunk
        if b"-" in buf and any(line.startswith(b"-") for line in buf.split(b"\r\n")):
            raise RuntimeError(f"Redis refused a command: {buf[:200]!r}")


class Capture:
    """Stands in for the stock manager's redis client: keeps what it would publish."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []

    def publish(self, channel: str, data) -> int:
        self.messages.append((channel, data.encode() if isinstance(data, str) else data))
        return 1


class StockSender:
    def __init__(self, args):
        import socketio

        self.manager = socketio.RedisManager(args.redis, channel=args.channel, write_only=True)
        self.capture = Capture()
        # The library's own emit (message shape, JSON) makes the bytes; `Capture` takes them.
        self.manager.redis, self.manager.connected = self.capture, True
        self.raw = RawPublish(args.redis)

    def batch(self, events: list[tuple[str, str, int]]) -> None:
        for room, bt, _n in events:
            self.manager.emit("bench", {"b": bt}, namespace="/", room=room)
        messages, self.capture.messages = self.capture.messages, []
        self.raw.batch(messages)


class OursSender:
    def __init__(self, args):
        from shared.events import encode_channel_message

        self.encode = encode_channel_message
        self.channel, self.secret = args.channel, args.secret
        self.raw = RawPublish(args.redis)
        self.base = ID_BASE + args.id_offset

    def batch(self, events: list[tuple[str, str, int]]) -> None:
        # What RedisPublisher.publish sends after one commit: one signed message per envelope.
        messages = []
        for room, bt, n in events:
            envelope = {"id": self.base + n, "type": "message:created", "room": room,
                        "seq": None, "ts": "2026-01-01T00:00:00Z", "data": {"b": bt}}
            messages.append((self.channel, self.encode([envelope], self.secret).encode()))
        self.raw.batch(messages)


class NodeSender:
    def __init__(self, args):
        from bench.redis_emitter import encode

        self.encode, self.key = encode, args.channel
        self.raw = RawPublish(args.redis)

    def batch(self, events: list[tuple[str, str, int]]) -> None:
        self.raw.batch([self.encode(self.key, room, "bench", {"b": bt}) for room, bt, _n in events])


SENDERS = {"stock": StockSender, "ours": OursSender, "node": NodeSender}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.publisher")
    parser.add_argument("--kind", choices=tuple(SENDERS), required=True)
    parser.add_argument("--mode", choices=("relay", "fanout"), required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--channel", required=True)
    parser.add_argument("--secret", default="")
    parser.add_argument("--rate", type=float, required=True, help="events per second")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--users", type=int, default=1)
    parser.add_argument("--id-offset", type=int, default=0, help="keeps envelope ids unique across runs")
    args = parser.parse_args()

    sender = SENDERS[args.kind](args)
    start = time.monotonic()
    sent = 0
    while sent < args.count:
        due = min(args.count, int((time.monotonic() - start) * args.rate) + 1)
        if sent >= due:
            time.sleep(max(0.0, min(0.001, (sent + 1) / args.rate - (time.monotonic() - start))))
            continue
        events = []
        for n in range(sent, due):
            room = "everyone" if args.mode == "fanout" else f"student:{1 + n % args.users}"
            events.append((room, f"bt={time.monotonic():.6f}|{n}~", n))
        sender.batch(events)
        sent = due
    elapsed = time.monotonic() - start
    print(json.dumps({"sent": sent, "secs": elapsed, "rate": sent / elapsed if elapsed else None,
                      "start": start}))


if __name__ == "__main__":
    main()
