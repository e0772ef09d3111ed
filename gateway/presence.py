"""Presence: a status per principal, combined over its sockets on every gateway.

A socket is `online`, `away` or `dnd` as its client chose (`auth.status` at
connect, then `presence:set`), and counts as `away` once it has sent no
event for PRESENCE_AWAY_AFTER seconds. The most present socket decides:
`dnd` (an explicit choice) over `online` over `away`; `offline` only when no
socket is connected anywhere. Each gateway writes its own combined status
and last activity per principal to a store (`gateway.presence_store`: Redis,
so a crashed gateway's entries age out, or memory without Redis). When the
combination over all gateways changes, `presence {principal, online, status,
last_seen}` goes to the rooms of the principal's conversations. A socket
that closes counts for GATEWAY_PRESENCE_GRACE seconds more, so a page
reload does not flap.

The same decision feeds presence webhooks: a principal with no live entry on
another gateway before this one came online, one with none left went
offline (after the grace, so a reload sends neither). The store makes each
announcement once across gateways (`announce_online`/`announce_offline`;
its `sweep`, every heartbeat refresh, announces the principals of a crashed
gateway offline once their entries aged out), and `gateway.presence_log`
writes it to the event log, where the worker picks it up.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Iterable

import socketio

from gateway.batch import Coalescer
from gateway.database import Database
from gateway.fanout import Fanout
from gateway.membership import principal_of
from gateway.presence_log import OFFLINE as WENT_OFFLINE
from gateway.presence_log import ONLINE as WENT_ONLINE
from gateway.presence_log import PresenceLog
from gateway.presence_store import Entry, MemoryStore, RedisStore
from gateway.registry import Registry, SocketState
from gateway.tasks import Tasks
from shared import eventlog
from shared.auth import Principal
from shared.config import Config
from shared.timeutil import isoformat_z

log = logging.getLogger(__name__)
QUERY_LIMIT = 100
STATUSES = ("online", "away", "dnd")
OFFLINE = "offline"
# Most present wins: dnd is chosen on purpose, so it outranks an online tab.
RANK = {"away": 1, "online": 2, "dnd": 3}


def combine(statuses: Iterable[str]) -> str:
    return max(statuses, key=RANK.__getitem__, default=OFFLINE)


def iso(epoch: float | None) -> str | None:
    return isoformat_z(dt.datetime.fromtimestamp(epoch, dt.timezone.utc)) if epoch else None


def _conversation_rooms(state: SocketState) -> set[str]:
    return {r for r in state.rooms if r.startswith("conversation:")}


class Presence:
    def __init__(self, config: Config, sio: socketio.AsyncServer, registry: Registry, fanout: Fanout,
                 store: MemoryStore | RedisStore, db: Database, gateway_id: str, tasks: Tasks,
                 changes: PresenceLog):
        self.config, self.sio, self.registry, self.fanout = config, sio, registry, fanout
        self.store, self.db, self.gateway_id, self.tasks = store, db, gateway_id, tasks
        self.changes = changes
        # What this gateway wrote to the store per principal it holds (present = marked).
        self.written: dict[Principal, str] = {}
        # Latest client activity of the principal's sockets here, closed ones included.
        self.active: dict[Principal, float] = {}
        # The status over all gateways as last learnt (the `presence:set` ack).
        self.combined: dict[Principal, str] = {}
        self.grace_timers: dict[Principal, asyncio.TimerHandle] = {}
        self.last_rooms: dict[Principal, set[str]] = {}
        # One batch at a time, so a principal's writes reach the store in the
        # order they were decided; principals changing together share a pipeline.
        self.updates: Coalescer[Principal, str] = Coalescer(self._apply, max_in_flight=1, spawn=tasks.spawn)
        fanout.on("presence", self.on_fanout)
        sio.on("presence:query", self.on_query)
        sio.on("presence:set", self.on_set)

    @property
    def ttl(self) -> float:
        return self.config.gateway_presence_ttl

    def touch(self, state: SocketState) -> None:
        """A client event from this socket: it is active (back from away at once)."""
        now = time.time()
        was_idle = now - state.active >= self.config.presence_away_after
        state.active = now
        self._note_active(state.principal, now)
        if was_idle and state.status == "online" and self.written.get(state.principal) == "away":
            self.tasks.spawn(self._update(state.principal))

    def _note_active(self, p: Principal, when: float) -> None:
        if when > self.active.get(p, 0.0):
            self.active[p] = when

    async def socket_connected(self, state: SocketState) -> None:
        p = state.principal
        if state.sid not in self.registry.sockets:
            return
        timer = self.grace_timers.pop(p, None)
        if timer is not None:
            timer.cancel()
        self._note_active(p, state.active)
        # Another tab of the same status changes nothing: no store round trip.
        if self.written.get(p) != self._local_status(p, time.time()):
            await self._update(p)

    async def socket_disconnected(self, state: SocketState) -> None:
        p = state.principal
        self.last_rooms[p] = _conversation_rooms(state) | self.last_rooms.get(p, set())
        self._note_active(p, state.active)
        if p not in self.written:
            return
        # Restarted by each close: the grace runs from the last one.
        timer = self.grace_timers.pop(p, None)
        if timer is not None:
            timer.cancel()
        go = lambda: self.tasks.spawn(self._after_grace(p))  # noqa: E731
        self.grace_timers[p] = asyncio.get_running_loop().call_later(self.config.gateway_presence_grace, go)

    async def _after_grace(self, p: Principal) -> None:
        self.grace_timers.pop(p, None)
        await self._update(p)

    async def _update(self, p: Principal) -> str:
        try:
            return await self.updates.get(p)
        except Exception:  # noqa: BLE001 - presence degrades, delivery does not
            log.warning("presence update failed for %s", p, exc_info=True)
            return self.combined.get(p, OFFLINE)

    def _socket_status(self, state: SocketState, now: float) -> str:
        if state.status == "online" and now - state.active >= self.config.presence_away_after:
            return "away"
        return state.status

    def _local_status(self, p: Principal, now: float) -> str | None:
        states = self.registry.of(p)
        return combine(self._socket_status(s, now) for s in states) if states else None

    async def _apply(self, principals: list[Principal]) -> dict[Principal, str]:
        """Write each principal's status here where it changed; announce where
        the combination over all gateways changed."""
        now = time.time()
        writes: dict[Principal, Entry] = {}
        removes: dict[Principal, float] = {}
        for p in principals:
            local = self._local_status(p, now)
            if local is None and p in self.written and p not in self.grace_timers:
                removes[p] = self.active.get(p, now)
            elif local is not None and self.written.get(p) != local:
                writes[p] = (local, self.active.get(p, now))
        old = {p: self.written.get(p) for p in [*writes, *removes]}
        for p, (status, _) in writes.items():
            self.written[p] = status
        for p in removes:
            del self.written[p]
        others = await self._exchange(writes, removes)
        # Before this batch no gateway held them / after it none does: candidates the store confirms once.
        await self._announce({p: writes[p][1] for p in writes if old[p] is None and not others.get(p)},
                             {p: removes[p] for p in removes if not others.get(p)})
        changes = []
        for p in old:
            theirs, mine = others.get(p, []), [writes[p]] if p in writes else []
            before = combine([s for s, _ in theirs] + ([old[p]] if old[p] else []))
            after = combine(s for s, _ in theirs + mine)
            if p in removes:
                self.combined.pop(p, None)
                self.active.pop(p, None)
            else:
                self.combined[p] = after
            rooms = self._rooms(p)
            if before != after and rooms:
                last_seen = max([a for _, a in theirs + mine] + [removes.get(p, 0.0)])
                changes.append({"rooms": sorted(rooms), "principal": p.as_dict(), "online": after != OFFLINE,
                                "status": after, "last_seen": iso(last_seen)})
        for p in principals:
            if p not in self.grace_timers:
                self.last_rooms.pop(p, None)
        try:
            # A connect storm's batch is one message on the channel.
            await self.fanout.publish_many("presence", changes, lambda change: change["rooms"])
        except Exception:  # noqa: BLE001
            log.warning("presence announce failed", exc_info=True)
        return {p: self.combined.get(p, OFFLINE) for p in principals}

    async def _exchange(self, writes: dict[Principal, Entry], removes: dict[Principal, float]):
        """Our entries in, the other gateways' live entries out ({} if the store is away)."""
        try:
            found = await self.store.update(writes, self.gateway_id, self.ttl) if writes else {}
            if removes:
                found.update(await self.store.remove(removes, self.gateway_id))
            return found
        except Exception as exc:  # noqa: BLE001 - presence degrades, delivery does not
            log.warning("presence store unavailable: %s", exc)
            return {}

    async def _announce(self, online: dict[Principal, float], offline: dict[Principal, float]) -> None:
        """Log the changes the store confirms (`gateway.presence_log`) for presence webhooks."""
        try:
            for p in await self.store.announce_online(list(online), self.ttl) if online else ():
                self.changes.add(WENT_ONLINE, p, iso(online[p]))
            for p in await self.store.announce_offline(list(offline)) if offline else ():
                self.changes.add(WENT_OFFLINE, p, iso(offline[p]))
        except Exception as exc:  # noqa: BLE001 - presence degrades, delivery does not
            log.warning("presence webhooks: store unavailable, change not logged: %s", exc)

    def _rooms(self, p: Principal) -> set[str]:
        found = set(self.last_rooms.get(p, ()))
        for state in self.registry.of(p):
            found |= _conversation_rooms(state)
        return found

    async def on_fanout(self, payload: dict) -> None:
        principal = principal_of(payload.get("principal"))
        rooms = [r for r in payload.get("rooms") or [] if isinstance(r, str) and r.startswith("conversation:")]
        online = payload.get("online")
        if principal is None or not rooms or not isinstance(online, bool):
            return
        status = payload.get("status")
        if status not in (*STATUSES, OFFLINE):  # from a gateway older than statuses
            status = "online" if online else OFFLINE
        if principal in self.written:
            self.combined[principal] = status
        body = {"principal": principal.as_dict(), "online": online, "status": status,
                "last_seen": payload.get("last_seen")}
        skip = self.registry.sids_of(principal)
        # A list of rooms: each socket gets it once even if it shares several.
        await self.sio.emit("presence", body, to=rooms, skip_sid=skip or None)

    async def on_set(self, sid: str, data=None) -> dict:
        """`presence:set {status}`: this socket's status; the ack has the principal's."""
        state = self.registry.get(sid)
        if state is None:
            return {"ok": False, "error": "not_connected"}
        self.touch(state)
        status = data.get("status") if isinstance(data, dict) else None
        if not isinstance(status, str) or status not in STATUSES:
            return {"ok": False, "error": "bad_request", "message": "status: one of online, away, dnd"}
        if not state.allow(self.config.gateway_typing_rate):
            return {"ok": False, "error": "rate_limited"}
        state.status = status
        return {"ok": True, "status": await self._update(state.principal)}

    async def on_query(self, sid: str, data=None) -> dict:
        """`presence:query {principals}`: only principals the asker shares a
        conversation or relationship with are answered; others are left out."""
        state = self.registry.get(sid)
        raw = data.get("principals") if isinstance(data, dict) else None
        if state is None:
            return {"ok": False, "error": "not_connected"}
        self.touch(state)
        if not isinstance(raw, list) or len(raw) > QUERY_LIMIT:
            return {"ok": False, "error": "bad_request", "message": f"principals: a list of at most {QUERY_LIMIT}"}
        asked = [principal_of(x) for x in raw]
        if any(p is None for p in asked):
            return {"ok": False, "error": "bad_request", "message": "each principal is {role, id}"}
        try:
            allowed = await self.db.run(eventlog.related_principals, state.principal, set(asked))
            ordered = [p for p in dict.fromkeys(asked) if p in allowed]
            states = await self.store.state(ordered, self.gateway_id)
        except Exception:  # noqa: BLE001
            return {"ok": False, "error": "unavailable"}
        return {"ok": True, "principals": [self._answer(p, *states[p]) for p in ordered]}

    def _answer(self, p: Principal, theirs: list[Entry], seen: float | None) -> dict:
        entries = theirs + ([(self.written[p], self.active.get(p, 0.0))] if p in self.written else [])
        status = combine(s for s, _ in entries)
        last_seen = max(a for _, a in entries) if entries else seen
        return {"principal": p.as_dict(), "online": status != OFFLINE, "status": status, "last_seen": iso(last_seen)}

    async def run_heartbeat(self) -> None:
        """Re-derives away from activity a few times per PRESENCE_AWAY_AFTER,
        and refreshes this gateway's entries every GATEWAY_PRESENCE_TTL / 3."""
        tick = max(0.05, min(self.ttl / 3, self.config.presence_away_after / 4))
        refresh_at = time.monotonic() + self.ttl / 3
        while True:
            await asyncio.sleep(tick)
            self._sweep()
            if time.monotonic() < refresh_at:
                continue
            refresh_at = time.monotonic() + self.ttl / 3
            entries = {p: (s, self.active.get(p, 0.0)) for p, s in self.written.items()}
            try:
                for p in await self.store.refresh(entries, self.gateway_id, self.ttl):
                    self.changes.add(WENT_ONLINE, p, iso(entries[p][1]))
                for p, seen in (await self.store.sweep()).items():
                    self.changes.add(WENT_OFFLINE, p, iso(seen))
            except Exception as exc:  # noqa: BLE001
                log.warning("presence heartbeat failed: %s", exc)

    def _sweep(self) -> None:
        now = time.time()
        for p, status in list(self.written.items()):
            if p not in self.grace_timers and self._local_status(p, now) != status:
                self.tasks.spawn(self._update(p))

    async def shutdown(self) -> None:
        """Leave the store at once; clients reconnecting elsewhere re-mark."""
        for timer in self.grace_timers.values():
            timer.cancel()
        gone = {p: self.active.get(p, time.time()) for p in self.written}
        self.written.clear()
        if gone:
            try:
                await self.store.remove(gone, self.gateway_id)
            except Exception:  # noqa: BLE001
                pass
        # Not announced offline here: clients reconnect to another gateway at
        # once; those that do not are swept offline once the TTL passes.
        await self.changes.drain()
