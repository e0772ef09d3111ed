"""Rooms at connect: one query for every principal connecting at about the same time.

`rooms_of(principal)` answers what `shared.eventlog.principal_rooms` would
(base rooms, then `conversation:<id>` in id order), but the lookups of all
sockets connecting in the same turn of the event loop, or while the previous
query runs, share one query (`gateway.batch.Coalescer`): one worker-thread
hop and one round trip for a whole connect storm instead of one per socket.

On MySQL the lookups have an engine of their own made for that one query:
autocommit and no reset on return (no ROLLBACK round trip), no pre-ping (no
extra round trip; a connection the server dropped is retried once on a fresh
one instead), recycled before the server's wait_timeout.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError

from gateway.batch import Coalescer
from gateway.database import Database
from gateway.tasks import Tasks
from shared import rooms
from shared.auth import Principal
from shared.db import make_engine
from shared.models import Participant

log = logging.getLogger(__name__)

# Principals per query: keeps each IN list and its answer a modest size.
MAX_BATCH = 500


def conversation_ids_of(conn: Any, principals: list[Principal]) -> dict[Principal, list[int]]:
    """Current conversations of each principal (ids ascending), in one query.

    Plain SQL through the driver: building, caching and coercing a Core
    statement for every batch cost more CPU (on a thread that competes with
    the event loop for the GIL) than the query itself."""
    ids_by_role: dict[str, list[int]] = {}
    for p in principals:
        ids_by_role.setdefault(p.role, []).append(int(p.id))
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    # Per role an IN list: each branch is a range on ix_participants_principal (role, principal_id, ...).
    branches, params = [], []
    for role, ids in ids_by_role.items():
        branches.append(f"(role = {mark} AND principal_id IN ({', '.join([mark] * len(ids))}))")
        params += [role, *ids]
    sql = (f"SELECT role, principal_id, conversation_id FROM {Participant.__tablename__} "
           f"WHERE left_at IS NULL AND read_only = 0 AND ({' OR '.join(branches)})")
    found: dict[Principal, list[int]] = {p: [] for p in principals}
    for role, pid, cid in conn.exec_driver_sql(sql, tuple(params)):
        ids = found.get(Principal(role, pid))
        if ids is not None:
            ids.append(cid)
    for ids in found.values():
        ids.sort()
    return found


def lookup_engine(database_url: str) -> Engine | None:
    """The lookups' own engine (MySQL), or None to share the gateway's (SQLite)."""
    if make_url(database_url).get_backend_name() == "sqlite":
        return None
    return make_engine(database_url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_reset_on_return=None,
                       pool_recycle=1800, pool_size=2, max_overflow=2)


class RoomLookup:
    def __init__(self, db: Database, engine: Engine | None, tasks: Tasks, max_batch: int = MAX_BATCH):
        """`engine`: the lookups' own (`lookup_engine`), or None to use `db`'s."""
        self.db, self.engine = db, engine
        # One query at a time: connects arriving meanwhile make the next batch bigger.
        self.batcher: Coalescer[Principal, list[int]] = Coalescer(self._fetch, max_batch=max_batch,
                                                                  max_in_flight=1, spawn=tasks.spawn)

    async def _fetch(self, principals: list[Principal]) -> dict[Principal, list[int]]:
        if self.engine is None:
            return await self.db.run(conversation_ids_of, principals)
        return await asyncio.to_thread(self._query, self.engine, principals)

    @staticmethod
    def _query(engine: Engine, principals: list[Principal]) -> dict[Principal, list[int]]:
        for attempt in (1, 2):
            try:
                with engine.connect() as conn:
                    return conversation_ids_of(conn, principals)
            except DBAPIError as exc:
                # Without pre-ping a pooled connection may be one the server closed: once more on a new one.
                if attempt == 2 or not exc.connection_invalidated:
                    raise
                log.info("room lookup: stale database connection, retrying")
        raise AssertionError("unreachable")

    async def rooms_of(self, principal: Principal) -> list[str]:
        """Base rooms + conversation rooms of `principal`; raises if the database does."""
        ids = await self.batcher.get(principal)
        return rooms.base_rooms(principal) + [rooms.conversation(c) for c in ids]
