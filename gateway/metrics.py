"""Counters for `GET /metrics`, in the Prometheus text format.

A handful of numbers does not need a client library: plain attributes bumped
on the event loop, rendered on request.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

_HELP = {
    "connections": "Socket.IO connections accepted",
    "connections_refused": "Socket.IO connections refused (bad token, database down)",
    "events_relayed": "Event envelopes emitted to rooms (live)",
    "deliveries_direct": "Live deliveries written straight to an idle websocket (gateway.fastemit)",
    "deliveries_queued": "Live deliveries sent through python-engineio's queue (polling, busy or compressed socket)",
    "events_replayed": "Event envelopes replayed to one socket from the log",
    "events_dropped_bad_signature": "Redis channel messages dropped: unsigned, forged or malformed",
    "events_from_log": "Envelopes the log reader delivered that Redis had not (polling, catch-up, lost publish)",
    "resyncs": "Replays over the cap answered with a resync",
    "redis_reconnects": "Times the Redis subscription was lost and established again",
    "typing_rate_limited": "Typing events dropped by the per-socket rate limit",
    "room_lookups": "Room queries at connect (each answers every principal connecting at that moment)",
}


@dataclass
class Metrics:
    connections: int = 0
    connections_refused: int = 0
    events_relayed: int = 0
    deliveries_direct: int = 0
    deliveries_queued: int = 0
    events_replayed: int = 0
    events_dropped_bad_signature: int = 0
    events_from_log: int = 0
    resyncs: int = 0
    redis_reconnects: int = 0
    typing_rate_limited: int = 0
    room_lookups: int = 0

    def render(self, sockets: int, redis_subscribed: bool | None) -> str:
        lines = [
            "# HELP gateway_sockets_connected Sockets connected to this process",
            "# TYPE gateway_sockets_connected gauge",
            f"gateway_sockets_connected {sockets}",
        ]
        if redis_subscribed is not None:
            lines += [
                "# HELP gateway_redis_subscribed 1 while the Redis event subscription is up",
                "# TYPE gateway_redis_subscribed gauge",
                f"gateway_redis_subscribed {int(redis_subscribed)}",
            ]
        for f in fields(self):
            name = f"gateway_{f.name}_total"
            lines += [f"# HELP {name} {_HELP[f.name]}", f"# TYPE {name} counter", f"{name} {getattr(self, f.name)}"]
        return "\n".join(lines) + "\n"
