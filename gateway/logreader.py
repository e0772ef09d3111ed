"""Reading new rows of the event log without skipping late commits.

Auto-increment ids are handed out at insert time but become visible at
commit time, so id 41 can appear after id 42 has been read. Reading only
`id > high_water` would skip 41 forever. So every id missing below the
high-water mark is kept as a *hole* and looked up again on each read, until
it shows up or `GATEWAY_LATE_COMMIT_WINDOW` seconds pass (rolled-back inserts
leave holes that never fill). The caller (`gateway.relay.Relay.run_reader`)
passes the ids it has delivered, so their bodies are not read again, and
delivers what the reader returns.
"""
from __future__ import annotations

import time
from typing import AsyncIterator, Container

from gateway.database import Database
from shared import eventlog

BATCH = 500
MAX_HOLES = 5000
# A jump bigger than this (e.g. auto_increment_increment, a bulk delete) is not a run of holes.
MAX_GAP = 1000


def _scan(conn, high: int, holes: list[int], limit: int) -> tuple[list[int], list[int]]:
    return eventlog.ids_after(conn, high, limit), eventlog.existing_ids(conn, holes)


class LogReader:
    def __init__(self, db: Database, late_commit_window: float):
        self.db, self.late_commit_window = db, late_commit_window
        self.high = 0
        # Where the log ended when this process started (None until read):
        # what came before is for replay, never for relay.
        self.start_id: int | None = None
        self.holes: dict[int, float] = {}

    async def start(self) -> None:
        """Start at the current end of the log: history is for replay, not relay."""
        self.high = self.start_id = await self.db.run(eventlog.latest_id)

    def _track(self, ids: list[int], now: float) -> None:
        previous = self.high
        for event_id in ids:
            if 1 < event_id - previous <= MAX_GAP:
                for hole in range(previous + 1, event_id):
                    self.holes.setdefault(hole, now)
            previous = event_id
        if ids:
            self.high = ids[-1]
        horizon = now - self.late_commit_window
        for hole in [h for h, since in self.holes.items() if since < horizon]:
            del self.holes[hole]
        while len(self.holes) > MAX_HOLES:
            del self.holes[min(self.holes)]

    async def read(self, seen: Container[int]) -> AsyncIterator[list[dict]]:
        """The envelopes the log has that are not in `seen`, a batch at a time."""
        while True:
            ids, filled = await self.db.run(_scan, self.high, sorted(self.holes), BATCH)
            for event_id in filled:
                self.holes.pop(event_id, None)
            self._track(ids, time.monotonic())
            fresh = [i for i in filled + ids if i not in seen]
            if fresh:
                yield await self.db.run(eventlog.read_ids, fresh)
            if len(ids) < BATCH:
                return
