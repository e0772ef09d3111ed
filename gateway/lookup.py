"""Rooms at connect: one query for every principal connecting at about the same time.

`rooms_of(principal)` answers what `shared.eventlog.principal_rooms` would
(base rooms, then `conversation:<id>` in id order), but the lookups of all
sockets connecting in the same turn of the event loop, or while the previous
query runs, share one query (`gateway.batch.Coalescer`): one worker-thread
hop and one round trip for a whole connect storm instead of one per socket.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select

from gateway.batch import Coalescer
from gateway.hub import Hub
from shared import rooms
from shared.auth import Principal
from shared.models import Participant

# Principals per query: keeps each IN list and its answer a modest size.
MAX_BATCH = 500


def conversation_ids_of(conn: Any, principals: list[Principal]) -> dict[Principal, list[int]]:
    """Current conversations of each principal (ids ascending), in one query."""
    ids_by_role: dict[str, list[int]] = {}
    for p in principals:
        ids_by_role.setdefault(p.role, []).append(p.id)
    # Per role an IN list: each branch is a range on ix_participants_principal (role, principal_id, ...).
    who = or_(*(and_(Participant.role == role, Participant.principal_id.in_(ids))
                for role, ids in ids_by_role.items()))
    query = select(Participant.role, Participant.principal_id, Participant.conversation_id).where(
        who, Participant.left_at.is_(None))
    found: dict[Principal, list[int]] = {p: [] for p in principals}
    for role, pid, cid in conn.execute(query):
        ids = found.get(Principal(role, pid))
        if ids is not None:
            ids.append(cid)
    for ids in found.values():
        ids.sort()
    return found


class RoomLookup:
    def __init__(self, hub: Hub, max_batch: int = MAX_BATCH):
        self.hub = hub
        self.batcher: Coalescer[Principal, list[int]] = Coalescer(self._fetch, max_batch=max_batch, spawn=hub.spawn)

    async def _fetch(self, principals: list[Principal]) -> dict[Principal, list[int]]:
        return await self.hub.db(conversation_ids_of, principals)

    async def rooms_of(self, principal: Principal) -> list[str]:
        """Base rooms + conversation rooms of `principal`; raises if the database does."""
        ids = await self.batcher.get(principal)
        return rooms.base_rooms(principal) + [rooms.conversation(c) for c in ids]
