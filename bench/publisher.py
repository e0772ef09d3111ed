"""Publish benchmark events on Redis at a fixed rate, from a process of its own.

- `--kind stock`: python-socketio's write-only `RedisManager.emit(...)`, the
  documented way to emit from outside a python-socketio server.
- `--kind ours`: the project's own channel format (`shared.events.
  encode_channel_message`, what `RedisPublisher.publish` sends: one signed
  message per envelope, as after one API commit), on `RedisPublisher`'s client.

Events due in the same millisecond tick go out in one Redis pipeline, for
both kinds alike, so the publisher keeps up with rates a server cannot (one
synchronous round trip per event tops out below 2,000/s on a busy machine).

Each event's data is `{"b": "bt=<CLOCK_MONOTONIC send time>|<n>~"}`, read by
`bench.loadclient`. `--mode relay` sends event n to the personal room of
user `1 + n % users`; `--mode fanout` sends every event to room `everyone`.
Prints one JSON line: how many were sent, over how long.
"""
from __future__ import annotations

import argparse
import json
import time

# Far above any real event id, so the gateway's log reader never confuses them.
ID_BASE = 10**12


class StockSender:
    def __init__(self, args):
        import socketio

        self.manager = socketio.RedisManager(args.redis, channel=args.channel, write_only=True)
        self.manager._redis_connect()
        self.client = self.manager.redis

    def batch(self, events: list[tuple[str, str, int]]) -> None:
        pipe = self.client.pipeline(transaction=False)
        # The library's own emit (message shape, JSON), queued on the pipeline.
        self.manager.redis = pipe
        try:
            for room, bt, _n in events:
                self.manager.emit("bench", {"b": bt}, namespace="/", room=room)
        finally:
            self.manager.redis = self.client
        pipe.execute()


class OursSender:
    def __init__(self, args):
        from shared.events import RedisPublisher, encode_channel_message

        self.encode = encode_channel_message
        self.publisher = RedisPublisher(args.redis, args.channel, args.secret)
        self.publisher.client.ping()
        self.base = ID_BASE + args.id_offset

    def batch(self, events: list[tuple[str, str, int]]) -> None:
        pipe = self.publisher.client.pipeline(transaction=False)
        for room, bt, n in events:
            envelope = {"id": self.base + n, "type": "message:created", "room": room,
                        "seq": None, "ts": "2026-01-01T00:00:00Z", "data": {"b": bt}}
            pipe.publish(self.publisher.channel, self.encode([envelope], self.publisher.secret))
        pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.publisher")
    parser.add_argument("--kind", choices=("stock", "ours"), required=True)
    parser.add_argument("--mode", choices=("relay", "fanout"), required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--channel", required=True)
    parser.add_argument("--secret", default="")
    parser.add_argument("--rate", type=float, required=True, help="events per second")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--users", type=int, default=1)
    parser.add_argument("--id-offset", type=int, default=0, help="keeps envelope ids unique across runs")
    args = parser.parse_args()

    sender = StockSender(args) if args.kind == "stock" else OursSender(args)
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
