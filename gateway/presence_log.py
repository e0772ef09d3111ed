"""Presence changes into the event log, for the delivery worker's webhooks.

`gateway.presence` decides when a principal came online anywhere or went
offline everywhere; this writes each such change as a `presence:online` /
`presence:offline` event in `shared.rooms.PRESENCE_LOG`, a room no socket is
in, so the worker's follower picks it up like any logged event and the
webhook path delivers it (at least once, per webhook in order, retried,
parked). The durable record is the point: a webhook fed from the log is not
lost to a worker restart or a Redis outage.

Off the hot path: `add` only queues; one task writes what queued meanwhile
in one INSERT on a worker thread, so a connect storm is a few statements and
no socket waits for the database. When the database is down the batch is
dropped with one log line per outage: those presence webhooks are lost
(presence itself, and the socket `presence` events, go on).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import insert

from gateway.database import Database
from gateway.tasks import Tasks
from shared import rooms
from shared.auth import Principal
from shared.events import dumps
from shared.logs import cause
from shared.models import Event
from shared.timeutil import utcnow

log = logging.getLogger(__name__)
ONLINE, OFFLINE = "presence:online", "presence:offline"
MAX_BATCH = 1000
# Queued changes kept while the database is slow; beyond it the oldest go (and are counted).
MAX_QUEUED = 50_000


def _insert(conn: Any, rows: list[dict]) -> None:
    conn.execute(insert(Event), rows)
    conn.commit()


class PresenceLog:
    def __init__(self, db: Database, tasks: Tasks):
        self.db, self.tasks = db, tasks
        self.queued: list[dict] = []
        self.dropped = 0  # changes not logged (database down, or too many queued)
        self.written = 0
        self._writing: asyncio.Task | None = None
        self._failing = False

    def add(self, type_: str, principal: Principal, last_seen: str | None) -> None:
        """Queue one change (`last_seen` ISO 8601); written soon, with those queued meanwhile."""
        data = {"principal": principal.as_dict(), "online": type_ == ONLINE, "last_seen": last_seen}
        self.queued.append({"room": rooms.PRESENCE_LOG, "type": type_, "data": dumps(data), "created_at": utcnow()})
        if len(self.queued) > MAX_QUEUED:
            del self.queued[0]
            self.dropped += 1
        if self._writing is None:
            self._writing = self.tasks.spawn(self._write())

    async def _write(self) -> None:
        try:
            while self.queued:
                rows, self.queued = self.queued[:MAX_BATCH], self.queued[MAX_BATCH:]
                try:
                    await self.db.run(_insert, rows)
                except Exception as exc:  # noqa: BLE001 - presence goes on without its webhooks
                    self.dropped += len(rows)
                    if not self._failing:
                        log.warning("presence webhooks: cannot log presence changes (dropped until the "
                                    "database answers): %s", cause(exc))
                    self._failing = True
                    continue
                self.written += len(rows)
                if self._failing:
                    log.info("presence webhooks: logging presence changes again")
                self._failing = False
        finally:
            self._writing = None

    async def drain(self) -> None:
        """Wait for what is queued to be written (shutdown)."""
        if self._writing is not None:
            await asyncio.wait([self._writing], timeout=5)
