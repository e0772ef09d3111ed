"""Connect, disconnect, `sync` and `auth:refresh`: authentication once, rooms from the database.

The token is verified by the same `shared.auth` as the API; a refusal reaches
the client as `connect_error` with `data = {"message", "code"}`. The socket
lives until the token's `exp`, which `auth:refresh` with a later token of the
same principal moves on without a reconnect. Rooms come
from the verified principal and a query for its conversations, shared by the
sockets connecting at the same moment (`gateway.lookup`); nothing a client
sends ever names a room.
"""
from __future__ import annotations

import asyncio
import logging
import time

import socketio

from gateway.lookup import RoomLookup
from gateway.metrics import Metrics
from gateway.presence import STATUSES, Presence
from gateway.registry import NAMESPACE, Registry, SocketState
from gateway.replay import Replay
from gateway.tasks import Tasks
from gateway.typing import Typing
from shared import rooms
from shared.auth import AuthError, bearer_token, verify_token
from shared.config import Config
from shared.logs import cause

log = logging.getLogger(__name__)


def token_from(environ: dict, auth) -> str | None:
    """`auth.token`, else `Authorization: Bearer`, else the `token` query parameter."""
    if isinstance(auth, dict) and isinstance(auth.get("token"), str) and auth["token"]:
        return auth["token"]
    header = bearer_token(environ.get("HTTP_AUTHORIZATION"))
    if header:
        return header
    request = environ.get("aiohttp.request")
    return request.query.get("token") if request is not None else None


def _event_id(value, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AuthError("bad_request", f"{name} must be a non-negative integer")
    return value


def _status(value) -> str:
    if value is None:
        return "online"
    if not isinstance(value, str) or value not in STATUSES:
        raise AuthError("bad_request", "status must be one of online, away, dnd")
    return value


def refuse(code: str, message: str) -> socketio.exceptions.ConnectionRefusedError:
    # Socket.IO sends {"message": ..., "data": {...}}: the JS client exposes
    # err.message and err.data, so data carries the machine-readable code.
    return socketio.exceptions.ConnectionRefusedError(message, {"message": message, "code": code})


class Connections:
    """The `connect`, `disconnect`, `sync` and `auth:refresh` handlers of the Socket.IO server."""

    def __init__(self, config: Config, sio: socketio.AsyncServer, registry: Registry, lookup: RoomLookup,
                 replay: Replay, typing: Typing, presence: Presence, metrics: Metrics, tasks: Tasks):
        self.config, self.sio, self.registry, self.lookup, self.replay = config, sio, registry, lookup, replay
        self.typing, self.presence, self.metrics, self.tasks = typing, presence, metrics, tasks
        sio.on("connect", self.connect)
        sio.on("disconnect", self.disconnect)
        sio.on("sync", self.sync)
        sio.on("auth:refresh", self.refresh)

    async def connect(self, sid: str, environ: dict, auth) -> None:
        registry, metrics = self.registry, self.metrics
        try:
            principal, claims = verify_token(token_from(environ, auth), self.config)
            options = auth if isinstance(auth, dict) else {}
            after = _event_id(options.get("last_event_id"), "last_event_id")
            # A reloading page can come back as it left (dnd stays dnd, no flap).
            status = _status(options.get("status"))
        except AuthError as exc:
            metrics.connections_refused += 1
            raise refuse(exc.code, exc.message) from None
        # Registered (pending) before the query, so membership changes relayed
        # meanwhile are recorded and re-applied on top of its answer.
        state = SocketState(sid=sid, principal=principal, rooms=rooms.base_rooms(principal), status=status)
        registry.add(state)
        try:
            # Batched with the other connects of this moment (gateway.lookup).
            registry.set_rooms(state, await self.lookup.rooms_of(principal))
        except Exception as exc:  # noqa: BLE001 - the database is down: refuse, the client retries
            # One line with the cause, not a traceback per connect while it is down.
            log.warning("room lookup failed for %s: %s", principal, cause(exc))
            registry.remove(sid)
            metrics.connections_refused += 1
            raise refuse("unavailable", "the service is unavailable, try again") from None
        registry.expire_at(state, claims.get("exp"))
        metrics.connections += 1
        self.tasks.spawn(self._start(state, after))
        # Marked at once (not after the replay), so a tab opened just before
        # another one closes keeps the principal online.
        await self.presence.socket_connected(state)

    async def disconnect(self, sid: str, reason=None) -> None:
        state = self.registry.remove(sid)
        if state is not None:
            await self.typing.socket_gone(state)
            await self.presence.socket_disconnected(state)

    async def sync(self, sid: str, data=None) -> dict:
        """`sync {last_event_id}`: replay what was missed, answered with an ack."""
        state = self.registry.get(sid)
        if state is None:
            return {"ok": False, "error": "not_connected"}
        self.presence.touch(state)
        try:
            after = _event_id(data.get("last_event_id") if isinstance(data, dict) else None, "last_event_id")
        except AuthError as exc:
            return {"ok": False, "error": exc.code, "message": exc.message}
        if after is None:
            return {"ok": False, "error": "bad_request", "message": "last_event_id is required"}
        async with state.locked():
            self.registry.go_pending(state)
            result = await self.replay.then_live(state, after)
        return {"ok": True, **result}

    async def refresh(self, sid: str, data=None) -> dict:
        """`auth:refresh {token}`: a later token of the same principal moves the
        socket's expiry; any refusal leaves the socket as it was."""
        state = self.registry.get(sid)
        if state is None:
            return {"ok": False, "error": "not_connected"}
        token = data.get("token") if isinstance(data, dict) else None
        if token is not None and not isinstance(token, str):
            return {"ok": False, "error": "bad_request", "message": "token must be a string"}
        try:
            principal, claims = verify_token(token, self.config)
        except AuthError as exc:
            return {"ok": False, "error": exc.code, "message": exc.message}
        if principal != state.principal:
            return {"ok": False, "error": "token_principal_mismatch", "message": "the token is for another principal"}
        current = state.expires
        # Never shortened: the socket keeps the later of the two expiries.
        if current is None or claims["exp"] > current:
            self.registry.expire_at(state, claims["exp"])
        return {"ok": True, "exp": state.expires}

    async def _start(self, state: SocketState, after: int | None) -> None:
        if not await self._when_connected(state.sid):
            return
        async with state.locked():
            await self.replay.then_live(state, after)

    async def _when_connected(self, sid: str, timeout: float = 5.0) -> bool:
        """The CONNECT packet goes out after the handler returns: wait for it, so
        nothing is emitted to the socket before the client knows it is in."""
        deadline, delay = time.monotonic() + timeout, 0.0
        while not self.sio.manager.is_connected(sid, NAMESPACE):
            if sid not in self.registry.sockets or time.monotonic() > deadline:
                return False
            # Usually one turn of the loop; back off so a connect storm is not a busy poll.
            await asyncio.sleep(delay)
            delay = min(0.05, delay * 2 or 0.001)
        return True
