"""Typing indicators: per principal, relayed to the other members of a conversation, never stored.

`typing {conversation_id, typing}` from a participant's socket goes out on
the fan-out with the socket's id. Every gateway tracks, per principal and
conversation, which sockets say they are typing, and tells its members in
the room `typing {conversation_id, principal, typing}` only when that
changes between none and some: a second tab stopping does not cancel the
first one's indicator, on any gateway. The sender's own sockets get
nothing. Rate limited per socket (a token bucket of GATEWAY_TYPING_RATE per
second); a `typing: true` not followed up within GATEWAY_TYPING_EXPIRY
seconds ends by itself, and a socket whose gateway died without saying so
is dropped after twice that.
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable

import socketio

from gateway.fanout import Fanout
from gateway.membership import principal_of
from gateway.metrics import Metrics
from gateway.registry import Registry, SocketState
from gateway.tasks import Tasks
from shared import rooms
from shared.auth import Principal
from shared.config import Config


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class Typing:
    def __init__(self, config: Config, sio: socketio.AsyncServer, registry: Registry, fanout: Fanout,
                 metrics: Metrics, tasks: Tasks, activity: Callable[[SocketState], None]):
        """`activity(state)` is told of every typing event (presence counts it as activity)."""
        self.config, self.sio, self.registry, self.fanout = config, sio, registry, fanout
        self.metrics, self.tasks, self.activity = metrics, tasks, activity
        # This gateway's sockets that are typing: (sid, conversation) -> their expiry.
        self.timers: dict[tuple[str, int], asyncio.TimerHandle] = {}
        # Every gateway's typing sockets, as heard on the fan-out:
        # (principal, conversation) -> {socket id: when to give up on it}.
        self.typers: dict[tuple[Principal, int], dict[str, float]] = {}
        self.stale_timers: dict[tuple[Principal, int], asyncio.TimerHandle] = {}
        fanout.on("typing", self.on_fanout)
        sio.on("typing", self.on_typing)

    async def on_typing(self, sid: str, data=None) -> dict:
        state = self.registry.get(sid)
        if state is None:
            return {"ok": False, "error": "not_connected"}
        self.activity(state)
        cid = data.get("conversation_id") if isinstance(data, dict) else None
        typing = data.get("typing") if isinstance(data, dict) else None
        if not _positive_int(cid) or not isinstance(typing, bool):
            return {"ok": False, "error": "bad_request", "message": "expected {conversation_id, typing}"}
        if rooms.conversation(cid) not in state.rooms:
            return {"ok": False, "error": "not_participant"}
        if not state.allow(self.config.gateway_typing_rate):
            self.metrics.typing_rate_limited += 1
            return {"ok": False, "error": "rate_limited"}
        key = (sid, cid)
        timer = self.timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        if typing:
            expire = lambda: self.tasks.spawn(self._expire(key, state.principal))  # noqa: E731
            self.timers[key] = asyncio.get_running_loop().call_later(self.config.gateway_typing_expiry, expire)
        # A repeated true refreshes every gateway's view; a false from a socket
        # that was not typing changes nothing.
        if typing or timer is not None:
            await self._announce(state.principal, cid, sid, typing)
        return {"ok": True}

    async def _expire(self, key: tuple[str, int], principal: Principal) -> None:
        if self.timers.pop(key, None) is not None:
            await self._announce(principal, key[1], key[0], False)

    async def socket_gone(self, state: SocketState) -> None:
        for key in [k for k in self.timers if k[0] == state.sid]:
            self.timers.pop(key).cancel()
            await self._announce(state.principal, key[1], state.sid, False)

    async def _announce(self, principal: Principal, cid: int, sid: str, typing: bool) -> None:
        payload = {"conversation_id": cid, "principal": principal.as_dict(), "typing": typing, "socket": sid}
        await self.fanout.publish("typing", payload, [rooms.conversation(cid)])

    async def on_fanout(self, payload: dict) -> None:
        principal, cid = principal_of(payload.get("principal")), payload.get("conversation_id")
        typing, sid = payload.get("typing"), payload.get("socket")
        if principal is None or not _positive_int(cid) or not isinstance(typing, bool):
            return
        # A gateway older than per-principal typing names no socket: one per principal.
        sid = sid if isinstance(sid, str) else ""
        key = (principal, cid)
        was = key in self.typers
        if typing:
            hold = 2 * self.config.gateway_typing_expiry
            self.typers.setdefault(key, {})[sid] = time.monotonic() + hold
            self._watch(key, hold)
        else:
            self._drop(key, sid)
        if was != (key in self.typers):
            await self._emit(principal, cid, not was)

    def _drop(self, key: tuple[Principal, int], sid: str) -> None:
        sockets = self.typers.get(key)
        if sockets is not None:
            sockets.pop(sid, None)
            if not sockets:
                del self.typers[key]
                timer = self.stale_timers.pop(key, None)
                if timer is not None:
                    timer.cancel()

    def _watch(self, key: tuple[Principal, int], delay: float) -> None:
        """Gives up on sockets whose gateway stopped talking (it died)."""
        timer = self.stale_timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        check = lambda: self.tasks.spawn(self._give_up(key))  # noqa: E731
        self.stale_timers[key] = asyncio.get_running_loop().call_later(delay, check)

    async def _give_up(self, key: tuple[Principal, int]) -> None:
        self.stale_timers.pop(key, None)
        sockets, now = self.typers.get(key), time.monotonic()
        if sockets is None:
            return
        for sid in [s for s, deadline in sockets.items() if deadline <= now]:
            self._drop(key, sid)
        if key not in self.typers:
            await self._emit(key[0], key[1], False)
        else:
            self._watch(key, max(0.0, min(self.typers[key].values()) - now))

    async def _emit(self, principal: Principal, cid: int, typing: bool) -> None:
        body = {"conversation_id": cid, "principal": principal.as_dict(), "typing": typing}
        skip = self.registry.sids_of(principal)
        await self.sio.emit("typing", body, to=rooms.conversation(cid), skip_sid=skip or None)
