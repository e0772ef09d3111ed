"""Reading new rows of the event log without skipping late commits.

Auto-increment ids are handed out at insert time but become visible at
commit time, so id 41 can appear after id 42 has been read. Reading only
`id > high_water` would skip 41 forever. So every id missing below the
high-water mark is kept as a *hole* and looked up again on each read, until
it shows up or `GATEWAY_LATE_COMMIT_WINDOW` seconds pass (rolled-back inserts
leave holes that never fill). The relay's delivered-id set dedupes.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from shared import eventlog

if TYPE_CHECKING:
    from gateway.hub import Hub
    from gateway.relay import Relay

BATCH = 500
MAX_HOLES = 5000
# A jump bigger than this (e.g. auto_increment_increment, a bulk delete) is not a run of holes.
MAX_GAP = 1000


def _scan(conn, high: int, holes: list[int], limit: int) -> tuple[list[int], list[int]]:
    return eventlog.ids_after(conn, high, limit), eventlog.existing_ids(conn, holes)


class LogReader:
    def __init__(self, hub: Hub):
        self.hub = hub
        self.high = 0
        self.holes: dict[int, float] = {}

    async def start(self) -> None:
        """Start at the current end of the log: history is for replay, not relay."""
        self.high = await self.hub.db(eventlog.latest_id)

    def _track(self, ids: list[int], now: float) -> None:
        previous = self.high
        for event_id in ids:
            if 1 < event_id - previous <= MAX_GAP:
                for hole in range(previous + 1, event_id):
                    self.holes.setdefault(hole, now)
            previous = event_id
        if ids:
            self.high = ids[-1]
        horizon = now - self.hub.config.gateway_late_commit_window
        for hole in [h for h, since in self.holes.items() if since < horizon]:
            del self.holes[hole]
        while len(self.holes) > MAX_HOLES:
            del self.holes[min(self.holes)]

    async def read(self, relay: Relay) -> int:
        """Deliver what the log has that the relay has not seen; returns the count."""
        delivered = 0
        while True:
            ids, filled = await self.hub.db(_scan, self.high, sorted(self.holes), BATCH)
            for event_id in filled:
                self.holes.pop(event_id, None)
            self._track(ids, time.monotonic())
            fresh = [i for i in filled + ids if i not in relay.seen]
            if fresh:
                envelopes = await self.hub.db(eventlog.read_ids, fresh)
                delivered += await relay.deliver(envelopes, from_log=True)
            if len(ids) < BATCH:
                return delivered
