"""Replay from the log, then go live, with nothing lost or reordered.

While a socket replays it is *pending* (see `gateway.registry`): the relay
buffers live envelopes for it. After the replay the buffer is flushed (minus
what the replay already sent) and the socket enters its rooms in the same
step of the event loop, so it sees every event for its rooms in order: first
what it missed, then live ones.
"""
from __future__ import annotations

import logging

import socketio

from gateway.database import Database
from gateway.metrics import Metrics
from gateway.registry import Registry, SocketState
from gateway.relay import Relay
from shared import eventlog
from shared.logs import cause

log = logging.getLogger(__name__)


class Replay:
    def __init__(self, cap: int, sio: socketio.AsyncServer, registry: Registry, db: Database, relay: Relay,
                 metrics: Metrics):
        """`cap`: the most events replayed to one socket before a `resync`."""
        self.cap, self.sio, self.registry, self.db, self.relay, self.metrics = cap, sio, registry, db, relay, metrics

    async def then_live(self, state: SocketState, after: int | None) -> dict:
        """Replay events after `after` (None: no replay) and make the socket live."""
        result = {"replayed": 0, "resync": False, "last_event_id": after}
        sent: set[int] = set()
        if after is not None:
            cap = self.cap
            try:
                envelopes = await self.db.run(eventlog.read_rooms_after, sorted(state.rooms), after, cap + 1)
            except Exception as exc:  # noqa: BLE001 - the log is unreachable: same answer as too much to replay
                log.warning("replay for %s failed; asking for a resync: %s", state.principal, cause(exc))
                envelopes = [None] * (cap + 1)
            if len(envelopes) > cap:
                # Too much to push through a socket: the client reloads over REST.
                await self.sio.emit("resync", {"after": after}, to=state.sid)
                self.metrics.resyncs += 1
                result["resync"] = True
            else:
                for env in envelopes:
                    await self.sio.emit(env["type"], env, to=state.sid)
                sent = {env["id"] for env in envelopes}
                self.relay.note_replayed(state.sid, sorted(sent))
                self.metrics.events_replayed += len(envelopes)
                if envelopes:
                    result.update(replayed=len(envelopes), last_event_id=envelopes[-1]["id"])
        await self._flush_and_go_live(state, sent, result["last_event_id"])
        return result

    async def _flush_and_go_live(self, state: SocketState, skip: set[int], last_id: int | None) -> None:
        while state.buffer and not state.overflowed:
            batch, state.buffer = state.buffer, ()
            for env in batch:
                if env.get("id") in skip or env["room"] not in state.rooms:
                    continue
                await self.sio.emit(env["type"], env, to=state.sid)
                if isinstance(env.get("id"), int):
                    last_id = env["id"]
        if state.overflowed:
            await self.sio.emit("resync", {"after": last_id or 0}, to=state.sid)
            self.metrics.resyncs += 1
        # No await between the empty-buffer check above and this: no live event can slip in.
        self.registry.go_live(state)
