"""`GET /metrics`: the gateway's counters in the Prometheus text format.

Counters are plain attributes bumped on the event loop (no lock, nothing
per event beyond an add); `GatewayCollector` turns them, and the gauges read
from the parts, into metric families for prometheus-client when scraped.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from gateway.backpressure import SlowConsumers
    from gateway.bus import BusLink
    from gateway.emit import SocketIOEmitter
    from gateway.fast import FastPaths
    from gateway.lookup import RoomLookup
    from gateway.registry import Registry

CONTENT_TYPE = CONTENT_TYPE_LATEST
_HELP = {
    "connections": "Socket.IO connections accepted",
    "connections_refused": "Socket.IO connections refused (bad token, database down)",
    "events_relayed": "Event envelopes emitted to rooms (live)",
    "deliveries_direct": "Live deliveries written straight to an idle websocket (gateway.fast.emit)",
    "deliveries_queued": "Live deliveries sent through python-engineio's queue (polling, busy or compressed socket)",
    "events_replayed": "Event envelopes replayed to one socket from the log",
    "events_from_log": "Envelopes the log reader delivered that Redis had not (polling, catch-up, lost publish)",
    "resyncs": "Replays over the cap answered with a resync",
    "redis_reconnects": "Times the Redis subscription was lost and established again",
    "bus_messages": "Redis channel messages received (events and ephemeral; one channel or the rooms' sharded ones)",
    "typing_rate_limited": "Typing events dropped by the per-socket rate limit",
    "order_held": "Events held back until their room's previous seq arrived",
    "order_gaps": "Room seqs given up on: the events after them went out without them",
    "order_late": "Events dropped: they came after their seq had been given up on",
    "slow_consumer_disconnects": "Sockets disconnected (slow_consumer): over GATEWAY_MAX_QUEUED packets waiting",
    "room_lookups": "Room queries at connect (each answers every principal connecting at that moment)",
}

_DROPPED_HELP = {
    "stale": "Redis channel messages dropped: timestamp older than EVENTS_MAX_AGE or than the subscription",
    "replayed": "Redis channel messages dropped: the exact message was seen before",
    "version": "Redis channel messages dropped: v1 while EVENTS_ACCEPT_V1 is off",
}


@dataclass
class Metrics:
    """The counters the parts bump themselves."""

    connections: int = 0
    connections_refused: int = 0
    events_relayed: int = 0
    events_replayed: int = 0
    # Refused channel messages by reason (shared.events: BadSignature.reason).
    channel_dropped: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("bad_signature", "stale", "replayed", "version"), 0)
    )
    events_from_log: int = 0
    resyncs: int = 0
    redis_reconnects: int = 0
    bus_messages: int = 0
    # Rooms whose sharded channels are subscribed (a gauge; None off Redis Cluster).
    bus_rooms: int | None = None
    typing_rate_limited: int = 0
    order_held: int = 0
    order_gaps: int = 0
    order_late: int = 0


class GatewayCollector:
    """Everything `/metrics` shows, read from the parts when scraped."""

    def __init__(self, metrics: Metrics, registry: Registry, emitter: SocketIOEmitter, slow: SlowConsumers,
                 lookup: RoomLookup, link: BusLink | None, paths: FastPaths):
        self.metrics, self.registry, self.emitter, self.slow, self.lookup = metrics, registry, emitter, slow, lookup
        self.link, self.paths = link, paths

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("gateway_sockets_connected", "Sockets connected to this process",
                                value=len(self.registry))
        if self.link is not None:
            yield GaugeMetricFamily("gateway_redis_subscribed", "1 while the Redis event subscription is up",
                                    value=int(self.link.subscribed))
        if self.metrics.bus_rooms is not None:
            yield GaugeMetricFamily("gateway_bus_rooms_subscribed",
                                    "Rooms whose sharded channels this process subscribes to (Redis Cluster)",
                                    value=self.metrics.bus_rooms)
        active = GaugeMetricFamily("gateway_fast_path_active",
                                   "1 for each fast path this process runs, 0 where it takes the library path",
                                   labels=["path"])
        for piece, on in asdict(self.paths).items():
            active.add_metric([piece], int(on))
        yield active
        dropped = self.metrics.channel_dropped
        # One counter per reason; the bad-signature one keeps its v1 name.
        yield CounterMetricFamily("gateway_events_dropped_bad_signature",
                                  "Redis channel messages dropped: unsigned, forged or malformed",
                                  value=dropped["bad_signature"])
        for reason in ("stale", "replayed", "version"):
            yield CounterMetricFamily(f"gateway_events_dropped_{reason}", _DROPPED_HELP[reason], value=dropped[reason])
        counts = {**asdict(self.metrics), "deliveries_direct": self.emitter.direct,
                  "deliveries_queued": self.emitter.queued, "room_lookups": self.lookup.batcher.batches,
                  "slow_consumer_disconnects": self.slow.disconnects}
        for name, help_text in _HELP.items():
            yield CounterMetricFamily(f"gateway_{name}", help_text, value=counts[name])


def render(collector: GatewayCollector) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
