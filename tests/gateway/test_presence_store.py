"""The presence store's heartbeat refresh against real Redis: one script call
per batch does what five pipelined commands per principal did."""
from __future__ import annotations

import time
import uuid

import redis.asyncio as aioredis

from gateway.presence_store import REFRESH_BATCH, RedisStore
from shared.auth import Principal
from tests.gateway.helpers import run


def test_refresh_keeps_entries_alive_and_answers_who_was_swept(redis_url):
    prefix = f"test:{uuid.uuid4().hex}:"
    # More than a batch, so the batching is on the way.
    principals = [Principal("student", n) for n in range(1, REFRESH_BATCH + 8)]

    async def scenario():
        client = aioredis.Redis.from_url(redis_url)
        store = RedisStore(client, prefix)
        try:
            entries = {p: ("dnd" if p.id % 2 else "online", 1000.0 + p.id) for p in principals}
            await store.update(entries, "gw-a", ttl=30)
            assert await store.announce_online(principals, ttl=30) == set(principals)
            # A sweep took two of them while we were slow: the refresh announces them again.
            swept = principals[:1] + principals[-1:]
            await client.zrem(f"{prefix}presence-announced", *(f"{p.role}:{p.id}" for p in swept))
            before = time.time()
            again = await store.refresh({p: (s, a + 1) for p, (s, a) in entries.items()}, "gw-a", ttl=30)
            assert again == set(swept)
            last = principals[-1]
            score = await client.zscore(f"{prefix}presence:student:{last.id}", "gw-a")
            assert before + 29 < score < time.time() + 31
            status = await client.hget(f"{prefix}pstatus:student:{last.id}", "gw-a")
            assert status == f"{entries[last][0]} {entries[last][1] + 1!r}".encode()
            assert 0 < await client.ttl(f"{prefix}pstatus:student:{last.id}") <= 61
            # Another gateway sees them as this one left them.
            state = await store.state([last], "gw-b")
            assert state[last][0] == [(entries[last][0], entries[last][1] + 1)]
            assert await store.refresh({}, "gw-a", ttl=30) == set()
        finally:
            keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()

    run(scenario())
