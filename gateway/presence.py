"""Presence: online while any socket of a principal is connected on any gateway.

Each gateway marks the principals it holds in a store: Redis (a sorted set
per principal, one member per gateway scored by its expiry, refreshed by a
heartbeat, so a crashed gateway's sockets age out) or, without Redis, memory.
The last socket closing starts a grace period (a page reload does not flap);
after it, if no gateway holds the principal, `presence {principal, online,
last_seen}` goes to the rooms of its conversations.
"""
from __future__ import annotations

import asyncio
import logging
import time

import socketio
from redis.asyncio import Redis

from gateway.batch import Coalescer
from gateway.database import Database
from gateway.fanout import Fanout
from gateway.membership import principal_of
from gateway.registry import Registry, SocketState
from gateway.tasks import Tasks
from shared import eventlog
from shared.auth import Principal
from shared.config import Config
from shared.timeutil import isoformat_z, utcnow

log = logging.getLogger(__name__)
SEEN_TTL = 30 * 24 * 3600
QUERY_LIMIT = 100


class MemoryStore:
    def __init__(self):
        self.online: dict[Principal, dict[str, float]] = {}
        self.seen: dict[Principal, str] = {}

    async def mark(self, principals: list[Principal], gateway: str, ttl: float) -> dict[Principal, bool]:
        """Mark each online here; whether another gateway holds it too."""
        now, elsewhere = time.time(), {}
        for p in principals:
            entries = self.online.setdefault(p, {})
            elsewhere[p] = any(g != gateway and exp > now for g, exp in entries.items())
            entries[gateway] = now + ttl
        return elsewhere

    async def unmark(self, p: Principal, gateway: str) -> bool:
        entries, now = self.online.get(p, {}), time.time()
        entries.pop(gateway, None)
        return any(exp > now for exp in entries.values())

    async def refresh(self, principals: list[Principal], gateway: str, ttl: float) -> None:
        for p in principals:
            self.online.setdefault(p, {})[gateway] = time.time() + ttl

    async def state(self, principals: list[Principal]) -> dict[Principal, tuple[bool, str | None]]:
        now = time.time()
        return {p: (any(e > now for e in self.online.get(p, {}).values()), self.seen.get(p)) for p in principals}

    async def set_seen(self, p: Principal, when: str) -> None:
        self.seen[p] = when


class RedisStore:
    def __init__(self, redis: Redis, prefix: str):
        self.redis, self.prefix = redis, prefix

    def _key(self, kind: str, p: Principal) -> str:
        return f"{self.prefix}{kind}:{p.role}:{p.id}"

    async def mark(self, principals: list[Principal], gateway: str, ttl: float) -> dict[Principal, bool]:
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            for p in principals:
                key = self._key("presence", p)
                pipe.zremrangebyscore(key, "-inf", now)
                pipe.zrange(key, 0, -1)
                pipe.zadd(key, {gateway: now + ttl})
                pipe.expire(key, int(ttl * 2) + 1)
            results = await pipe.execute()
        members = results[1::4]
        return {p: any(m.decode() != gateway for m in found) for p, found in zip(principals, members, strict=True)}

    async def unmark(self, p: Principal, gateway: str) -> bool:
        key = self._key("presence", p)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(key, gateway)
            pipe.zcount(key, time.time(), "+inf")
            _, live = await pipe.execute()
        return live > 0

    async def refresh(self, principals: list[Principal], gateway: str, ttl: float) -> None:
        if not principals:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in principals:
                pipe.zadd(self._key("presence", p), {gateway: time.time() + ttl})
                pipe.expire(self._key("presence", p), int(ttl * 2) + 1)
            await pipe.execute()

    async def state(self, principals: list[Principal]) -> dict[Principal, tuple[bool, str | None]]:
        if not principals:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in principals:
                pipe.zcount(self._key("presence", p), time.time(), "+inf")
                pipe.get(self._key("seen", p))
            results = await pipe.execute()
        pairs = zip(results[::2], results[1::2], strict=True)
        answers = zip(principals, pairs, strict=True)
        return {p: (live > 0, seen.decode() if seen else None) for p, (live, seen) in answers}

    async def set_seen(self, p: Principal, when: str) -> None:
        await self.redis.set(self._key("seen", p), when, ex=SEEN_TTL)


def _conversation_rooms(state: SocketState) -> set[str]:
    return {r for r in state.rooms if r.startswith("conversation:")}


def presence_store(redis: Redis | None, events_channel: str) -> MemoryStore | RedisStore:
    """Redis when configured (keys share the channel's prefix, so deployments
    on one Redis stay apart), else this process's memory."""
    return MemoryStore() if redis is None else RedisStore(redis, events_channel + ":")


class Presence:
    def __init__(self, config: Config, sio: socketio.AsyncServer, registry: Registry, fanout: Fanout,
                 store: MemoryStore | RedisStore, db: Database, gateway_id: str, tasks: Tasks):
        self.config, self.sio, self.registry, self.fanout = config, sio, registry, fanout
        self.store, self.db, self.gateway_id, self.tasks = store, db, gateway_id, tasks
        self.marked: set[Principal] = set()
        self.offline_timers: dict[Principal, asyncio.TimerHandle] = {}
        self.last_rooms: dict[Principal, set[str]] = {}
        # Principals coming online at the same moment are marked in one pipeline.
        self.marker: Coalescer[Principal, bool] = Coalescer(self._mark, spawn=tasks.spawn)
        fanout.on("presence", self.on_fanout)
        sio.on("presence:query", self.on_query)

    @property
    def ttl(self) -> float:
        return self.config.gateway_presence_ttl

    async def socket_connected(self, state: SocketState) -> None:
        p = state.principal
        if state.sid not in self.registry.sockets:
            return
        timer = self.offline_timers.pop(p, None)
        if timer is not None:
            timer.cancel()
        if p in self.marked:
            return
        self.marked.add(p)
        try:
            elsewhere = await self.marker.get(p)
        except Exception as exc:  # noqa: BLE001 - presence degrades, delivery does not
            log.warning("presence store unavailable: %s", exc)
            elsewhere = False
        if not elsewhere:
            await self._announce(p, True, isoformat_z(utcnow()), _conversation_rooms(state))

    async def _mark(self, principals: list[Principal]) -> dict[Principal, bool]:
        return await self.store.mark(principals, self.gateway_id, self.ttl)

    async def socket_disconnected(self, state: SocketState) -> None:
        p = state.principal
        self.last_rooms[p] = _conversation_rooms(state) | self.last_rooms.get(p, set())
        if self.registry.of(p) or p not in self.marked or p in self.offline_timers:
            return
        go = lambda: self.tasks.spawn(self._offline(p))  # noqa: E731
        self.offline_timers[p] = asyncio.get_running_loop().call_later(self.config.gateway_presence_grace, go)

    async def _offline(self, p: Principal) -> None:
        self.offline_timers.pop(p, None)
        rooms = self.last_rooms.pop(p, set())
        if self.registry.of(p):
            return
        self.marked.discard(p)
        when = isoformat_z(utcnow())
        try:
            still = await self.store.unmark(p, self.gateway_id)
            await self.store.set_seen(p, when)
        except Exception as exc:  # noqa: BLE001
            log.warning("presence store unavailable: %s", exc)
            still = False
        if not still:
            await self._announce(p, False, when, rooms)

    async def _announce(self, p: Principal, online: bool, when: str, rooms: set[str]) -> None:
        if rooms:
            payload = {"rooms": sorted(rooms), "principal": p.as_dict(), "online": online, "last_seen": when}
            await self.fanout.publish("presence", payload)

    async def on_fanout(self, payload: dict) -> None:
        principal = principal_of(payload.get("principal"))
        rooms = [r for r in payload.get("rooms") or [] if isinstance(r, str) and r.startswith("conversation:")]
        if principal is None or not rooms or not isinstance(payload.get("online"), bool):
            return
        body = {"principal": principal.as_dict(), "online": payload["online"], "last_seen": payload.get("last_seen")}
        skip = self.registry.sids_of(principal)
        # A list of rooms: each socket gets it once even if it shares several.
        await self.sio.emit("presence", body, to=rooms, skip_sid=skip or None)

    async def on_query(self, sid: str, data=None) -> dict:
        """`presence:query {principals}`: only principals the asker shares a
        conversation or relationship with are answered; others are left out."""
        state = self.registry.get(sid)
        raw = data.get("principals") if isinstance(data, dict) else None
        if state is None:
            return {"ok": False, "error": "not_connected"}
        if not isinstance(raw, list) or len(raw) > QUERY_LIMIT:
            return {"ok": False, "error": "bad_request", "message": f"principals: a list of at most {QUERY_LIMIT}"}
        asked = [principal_of(x) for x in raw]
        if any(p is None for p in asked):
            return {"ok": False, "error": "bad_request", "message": "each principal is {role, id}"}
        try:
            allowed = await self.db.run(eventlog.related_principals, state.principal, set(asked))
            ordered = [p for p in dict.fromkeys(asked) if p in allowed]
            states = await self.store.state(ordered)
        except Exception:  # noqa: BLE001
            return {"ok": False, "error": "unavailable"}
        now = isoformat_z(utcnow())
        return {"ok": True, "principals": [
            {"principal": p.as_dict(), "online": states[p][0], "last_seen": now if states[p][0] else states[p][1]}
            for p in ordered
        ]}

    async def run_heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await self.store.refresh(sorted(self.marked), self.gateway_id, self.ttl)
            except Exception as exc:  # noqa: BLE001
                log.warning("presence heartbeat failed: %s", exc)

    async def shutdown(self) -> None:
        """Leave the store at once; clients reconnecting elsewhere re-mark."""
        for timer in self.offline_timers.values():
            timer.cancel()
        for p in list(self.marked):
            try:
                await self.store.unmark(p, self.gateway_id)
            except Exception:  # noqa: BLE001
                break
        self.marked.clear()
