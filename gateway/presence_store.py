"""Where each gateway keeps its presence entries: Redis, or this process's memory.

An entry is one gateway's view of one principal: its combined status there
and the last client activity of its sockets (epoch seconds). In Redis, per
principal, a sorted set holds one member per gateway scored by its expiry
(refreshed by the heartbeat, so a crashed gateway's entries age out) and a
hash holds each gateway's `"<status> <activity>"` (exact floats); `lastseen` keeps the
latest activity once no gateway holds the principal. Keys share the event
channel's prefix, so deployments on one Redis stay apart. Every call answers
with the other gateways' live entries, read in the same transaction as the
write, so each gateway sees the writes in one order.

For presence webhooks the store also keeps who was announced online (one
sorted set, `presence-announced`, scored like the entries by the latest
expiry). Adding a principal to it (`announce_online`) or removing one whose
entries are all gone (`announce_offline`, `sweep`) succeeds for one caller
only, so online and offline alternate strictly per principal whichever
gateways race, and a crashed gateway's principals, whose entries only age
out, are announced offline by the next gateway's sweep.
"""
from __future__ import annotations

import asyncio
import functools
import time

from redis.asyncio import Redis

from shared.auth import Principal

Entry = tuple[str, float]  # (status, last activity)
State = dict[Principal, tuple[list[Entry], float | None]]  # the others' entries, lastseen
SEEN_TTL = 30 * 24 * 3600
# lastseen only moves forward: gateways leaving in any order keep the latest.
KEEP_LATEST = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""
# Offline only while no gateway holds a live entry: checked and removed in one step.
ANNOUNCE_OFFLINE = """
if redis.call('ZCOUNT', KEYS[2], ARGV[2], '+inf') > 0 then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
"""
SWEEP_LIMIT = 500  # announced principals a sweep looks at (the next sweep takes the rest)
# A heartbeat's refresh of many principals in one script call: per principal
# (KEYS its entry set and status hash, ARGV its status and member) the five
# writes a pipeline would send; answers the 1-based positions re-announced.
REFRESH = """
local gateway, expiry, keep, announced = ARGV[1], ARGV[2], ARGV[3], KEYS[#KEYS]
local again = {}
for i = 1, (#KEYS - 1) / 2 do
  local held, states = KEYS[2 * i - 1], KEYS[2 * i]
  redis.call('ZADD', held, expiry, gateway)
  redis.call('EXPIRE', held, keep)
  redis.call('HSET', states, gateway, ARGV[2 + 2 * i])
  redis.call('EXPIRE', states, keep)
  if redis.call('ZADD', announced, 'GT', expiry, ARGV[3 + 2 * i]) == 1 then again[#again + 1] = i end
end
return again
"""
REFRESH_BATCH = 500  # principals per script call: one call never holds Redis for long


def _member(p: Principal) -> str:
    return f"{p.role}:{p.id}"


def _principal(member: bytes) -> Principal:
    role, _, pid = member.decode().partition(":")
    return Principal(role, int(pid))


class MemoryStore:
    def __init__(self) -> None:
        self.entries: dict[Principal, dict[str, tuple[float, str, float]]] = {}  # gateway -> (expiry, status, active)
        self.seen: dict[Principal, float] = {}
        self.announced: set[Principal] = set()

    def _others(self, p: Principal, gateway: str, now: float) -> list[Entry]:
        held = self.entries.get(p, {})
        return [(status, active) for g, (exp, status, active) in held.items() if g != gateway and exp > now]

    async def update(self, entries: dict[Principal, Entry], gateway: str, ttl: float) -> dict[Principal, list[Entry]]:
        now, found = time.time(), {}
        for p, (status, active) in entries.items():
            found[p] = self._others(p, gateway, now)
            self.entries.setdefault(p, {})[gateway] = (now + ttl, status, active)
        return found

    async def refresh(self, entries: dict[Principal, Entry], gateway: str, ttl: float) -> set[Principal]:
        await self.update(entries, gateway, ttl)
        return set()

    async def announce_online(self, principals: list[Principal], ttl: float) -> set[Principal]:
        new = set(principals) - self.announced
        self.announced |= new
        return new

    async def announce_offline(self, principals: list[Principal]) -> set[Principal]:
        now = time.time()
        gone = {p for p in principals if p in self.announced and not self._others(p, "", now)}
        self.announced -= gone
        return gone

    async def sweep(self) -> dict[Principal, float | None]:
        return {}  # one process: no other gateway's entries to outlive

    async def remove(self, seen: dict[Principal, float], gateway: str) -> dict[Principal, list[Entry]]:
        now, found = time.time(), {}
        for p, active in seen.items():
            held = self.entries.get(p, {})
            held.pop(gateway, None)
            if not held:
                self.entries.pop(p, None)
            found[p] = self._others(p, gateway, now)
            self.seen[p] = max(active, self.seen.get(p, 0.0))
        return found

    async def state(self, principals: list[Principal], gateway: str) -> State:
        now = time.time()
        return {p: (self._others(p, gateway, now), self.seen.get(p)) for p in principals}


def _parse(raw: bytes | None) -> Entry:
    """`"<status> <activity>"`; a gateway without statuses wrote none: online."""
    status, _, active = (raw or b"online 0").decode().partition(" ")
    try:
        return status, float(active)
    except ValueError:
        return status, 0.0


def _bounded(method):
    """One deadline for the whole operation (see `RedisStore`)."""

    @functools.wraps(method)
    async def bounded(self, *args, **kwargs):
        async with asyncio.timeout(self.timeout):
            return await method(self, *args, **kwargs)

    return bounded


class RedisStore:
    """The store in Redis. `redis` should be a client of its own without a
    `socket_timeout`: redis-py enters an asyncio timeout context (a timer
    scheduled and cancelled) for every reply it reads, so a pipeline of 5
    commands for each of 5,000 principals cost tens of thousands of timers,
    an eighth of the gateway's CPU during a connect storm. Each operation
    has one deadline of `timeout` seconds instead; when it passes, the
    cancelled read makes redis-py drop that connection, as its own timeout does."""

    def __init__(self, redis: Redis, prefix: str, timeout: float = 5.0):
        self.redis, self.prefix, self.timeout = redis, prefix, timeout
        self._refresh_script = redis.register_script(REFRESH)  # EVALSHA, loaded on first use

    def _key(self, kind: str, p: Principal) -> str:
        return f"{self.prefix}{kind}:{p.role}:{p.id}"

    @staticmethod
    def _others(members: list[bytes], fields: dict[bytes, bytes], gateway: str) -> list[Entry]:
        return [_parse(fields.get(m)) for m in members if m.decode() != gateway]

    @_bounded
    async def update(self, entries: dict[Principal, Entry], gateway: str, ttl: float) -> dict[Principal, list[Entry]]:
        now, keep = time.time(), int(ttl * 2) + 1
        async with self.redis.pipeline(transaction=True) as pipe:
            for p, (status, active) in entries.items():
                held, states = self._key("presence", p), self._key("pstatus", p)
                pipe.zremrangebyscore(held, "-inf", now)
                pipe.zadd(held, {gateway: now + ttl})
                pipe.expire(held, keep)
                pipe.hset(states, gateway, f"{status} {active!r}")
                pipe.expire(states, keep)
                pipe.zrange(held, 0, -1)
                pipe.hgetall(states)
            results = await pipe.execute()
        found, stale = {}, {}
        for n, p in enumerate(entries):
            members, fields = results[n * 7 + 5], results[n * 7 + 6]
            found[p] = self._others(members, fields, gateway)
            stale[p] = set(fields) - set(members)
        await self._forget(stale)
        return found

    async def _forget(self, stale: dict[Principal, set[bytes]]) -> None:
        """Hash fields of gateways whose sorted-set member aged out (crashed ones)."""
        if any(stale.values()):
            async with self.redis.pipeline(transaction=False) as pipe:
                for p, fields in stale.items():
                    if fields:
                        pipe.hdel(self._key("pstatus", p), *fields)
                await pipe.execute()

    @_bounded
    async def refresh(self, entries: dict[Principal, Entry], gateway: str, ttl: float) -> set[Principal]:
        """Keep our entries alive; answers the principals that had to be
        announced online again (a sweep took them while we were too slow to refresh)."""
        now, keep = time.time(), int(ttl * 2) + 1
        items, again = list(entries.items()), set()
        # One script call per batch, not five pipelined commands per principal:
        # redis-py's per-command cost made a 1,000-socket heartbeat a visible
        # share of the gateway's CPU.
        for start in range(0, len(items), REFRESH_BATCH):
            batch = items[start:start + REFRESH_BATCH]
            keys, args = [], [gateway, repr(now + ttl), keep]
            for p, (status, active) in batch:
                keys += [self._key("presence", p), self._key("pstatus", p)]
                args += [f"{status} {active!r}", _member(p)]
            positions = await self._refresh_script(keys=[*keys, self._announced], args=args)
            again |= {batch[int(i) - 1][0] for i in positions}
        return again

    @property
    def _announced(self) -> str:
        return f"{self.prefix}presence-announced"

    @_bounded
    async def announce_online(self, principals: list[Principal], ttl: float) -> set[Principal]:
        """Of principals no other gateway held, those not announced online yet (now they are)."""
        expiry = time.time() + ttl
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in principals:
                pipe.zadd(self._announced, {_member(p): expiry}, gt=True)
            added = await pipe.execute()
        return {p for p, n in zip(principals, added, strict=True) if n == 1}

    @_bounded
    async def announce_offline(self, principals: list[Principal]) -> set[Principal]:
        """Of principals this gateway let go, those no gateway holds and that were announced online (now not)."""
        now = time.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in principals:
                pipe.eval(ANNOUNCE_OFFLINE, 2, self._announced, self._key("presence", p), _member(p), now)
            removed = await pipe.execute()
        return {p for p, n in zip(principals, removed, strict=True) if n == 1}

    @_bounded
    async def sweep(self) -> dict[Principal, float | None]:
        """Announced principals whose entries all aged out (their gateway
        crashed): announced offline now, with their latest known activity."""
        now = time.time()
        members = await self.redis.zrangebyscore(self._announced, "-inf", now, start=0, num=SWEEP_LIMIT)
        gone = await self.announce_offline([_principal(m) for m in members])
        if not gone:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in gone:
                pipe.get(self._key("lastseen", p))
                pipe.hgetall(self._key("pstatus", p))
            results = await pipe.execute()
        found: dict[Principal, float | None] = {}
        for n, p in enumerate(gone):
            seen, fields = results[n * 2], results[n * 2 + 1]
            times = [float(seen)] if seen else []
            times += [_parse(raw)[1] for raw in fields.values()]
            found[p] = max(times, default=None) or None
        return found

    @_bounded
    async def remove(self, seen: dict[Principal, float], gateway: str) -> dict[Principal, list[Entry]]:
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            for p, active in seen.items():
                held, states = self._key("presence", p), self._key("pstatus", p)
                pipe.zrem(held, gateway)
                pipe.hdel(states, gateway)
                pipe.zrangebyscore(held, now, "+inf")
                pipe.hgetall(states)
                pipe.eval(KEEP_LATEST, 1, self._key("lastseen", p), repr(active), SEEN_TTL)
            results = await pipe.execute()
        return {p: self._others(results[n * 5 + 2], results[n * 5 + 3], gateway) for n, p in enumerate(seen)}

    @_bounded
    async def state(self, principals: list[Principal], gateway: str) -> State:
        if not principals:
            return {}
        now = time.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in principals:
                pipe.zrangebyscore(self._key("presence", p), now, "+inf")
                pipe.hgetall(self._key("pstatus", p))
                pipe.get(self._key("lastseen", p))
            results = await pipe.execute()
        found = {}
        for n, p in enumerate(principals):
            members, fields, seen = results[n * 3: n * 3 + 3]
            found[p] = (self._others(members, fields, gateway), float(seen) if seen else None)
        return found


def presence_store(redis: Redis | None, events_channel: str) -> MemoryStore | RedisStore:
    """Redis when configured (a client without `socket_timeout`, see `RedisStore`), else this process's memory."""
    return MemoryStore() if redis is None else RedisStore(redis, events_channel + ":")
