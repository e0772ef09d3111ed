"""Typing indicators: relayed to the other members of a conversation, never stored.

`typing {conversation_id, typing}` from a participant goes to the room as
`typing {conversation_id, principal, typing}` on every gateway, skipping the
sender's own sockets. Rate limited per socket (a token bucket of
GATEWAY_TYPING_RATE per second); a `typing: true` not followed up within
GATEWAY_TYPING_EXPIRY seconds is ended with a `typing: false`.
"""
from __future__ import annotations

import asyncio
import time

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
                 metrics: Metrics, tasks: Tasks):
        self.config, self.sio, self.registry, self.fanout = config, sio, registry, fanout
        self.metrics, self.tasks = metrics, tasks
        self.timers: dict[tuple[str, int], asyncio.TimerHandle] = {}
        fanout.on("typing", self.on_fanout)
        sio.on("typing", self.on_typing)

    def _allow(self, state: SocketState) -> bool:
        rate, now = self.config.gateway_typing_rate, time.monotonic()
        state.typing_tokens = min(rate, state.typing_tokens + (now - state.typing_stamp) * rate)
        state.typing_stamp = now
        if state.typing_tokens < 1:
            return False
        state.typing_tokens -= 1
        return True

    async def on_typing(self, sid: str, data=None) -> dict:
        state = self.registry.get(sid)
        if state is None:
            return {"ok": False, "error": "not_connected"}
        cid = data.get("conversation_id") if isinstance(data, dict) else None
        typing = data.get("typing") if isinstance(data, dict) else None
        if not _positive_int(cid) or not isinstance(typing, bool):
            return {"ok": False, "error": "bad_request", "message": "expected {conversation_id, typing}"}
        if rooms.conversation(cid) not in state.rooms:
            return {"ok": False, "error": "not_participant"}
        if not self._allow(state):
            self.metrics.typing_rate_limited += 1
            return {"ok": False, "error": "rate_limited"}
        key = (sid, cid)
        timer = self.timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        if typing:
            expire = lambda: self.tasks.spawn(self._expire(key, state.principal))  # noqa: E731
            self.timers[key] = asyncio.get_running_loop().call_later(self.config.gateway_typing_expiry, expire)
        await self._announce(state.principal, cid, typing)
        return {"ok": True}

    async def _expire(self, key: tuple[str, int], principal: Principal) -> None:
        if self.timers.pop(key, None) is not None:
            await self._announce(principal, key[1], False)

    async def socket_gone(self, state: SocketState) -> None:
        for key in [k for k in self.timers if k[0] == state.sid]:
            self.timers.pop(key).cancel()
            await self._announce(state.principal, key[1], False)

    async def _announce(self, principal: Principal, cid: int, typing: bool) -> None:
        payload = {"conversation_id": cid, "principal": principal.as_dict(), "typing": typing}
        await self.fanout.publish("typing", payload)

    async def on_fanout(self, payload: dict) -> None:
        principal, cid = principal_of(payload.get("principal")), payload.get("conversation_id")
        if principal is None or not _positive_int(cid) or not isinstance(payload.get("typing"), bool):
            return
        body = {"conversation_id": cid, "principal": principal.as_dict(), "typing": payload["typing"]}
        skip = self.registry.sids_of(principal)
        await self.sio.emit("typing", body, to=rooms.conversation(cid), skip_sid=skip or None)
