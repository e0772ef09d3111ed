"""Connect, disconnect and `sync`: authentication once, rooms from the database.

The token is verified by the same `shared.auth` as the API; a refusal reaches
the client as `connect_error` with `data = {"message", "code"}`. Rooms come
from the verified principal and a query for its conversations, shared by the
sockets connecting at the same moment (`gateway.lookup`); nothing a client
sends ever names a room.
"""
from __future__ import annotations

import asyncio
import logging
import time

import socketio

from gateway.hub import Hub
from gateway.lookup import RoomLookup
from gateway.registry import NAMESPACE, SocketState
from gateway.replay import replay_then_live
from shared import rooms
from shared.auth import AuthError, bearer_token, verify_token

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


def refuse(code: str, message: str) -> socketio.exceptions.ConnectionRefusedError:
    # Socket.IO sends {"message": ..., "data": {...}}: the JS client exposes
    # err.message and err.data, so data carries the machine-readable code.
    return socketio.exceptions.ConnectionRefusedError(message, {"message": message, "code": code})


async def _when_connected(hub: Hub, sid: str, timeout: float = 5.0) -> bool:
    """The CONNECT packet goes out after the handler returns: wait for it, so
    nothing is emitted to the socket before the client knows it is in."""
    deadline, delay = time.monotonic() + timeout, 0.0
    while not hub.sio.manager.is_connected(sid, NAMESPACE):
        if sid not in hub.registry.sockets or time.monotonic() > deadline:
            return False
        # Usually one turn of the loop; back off so a connect storm is not a busy poll.
        await asyncio.sleep(delay)
        delay = min(0.05, delay * 2 or 0.001)
    return True


async def _start(hub: Hub, state: SocketState, after: int | None) -> None:
    if not await _when_connected(hub, state.sid):
        return
    async with state.locked():
        await replay_then_live(hub, state, after)


def setup_connect(hub: Hub) -> None:
    sio = hub.sio
    lookup = hub.lookup = RoomLookup(hub)
    hub.registry.on_expired = lambda sid: hub.spawn(sio.disconnect(sid))

    @sio.event
    async def connect(sid, environ, auth):
        try:
            principal, claims = verify_token(token_from(environ, auth), hub.config)
            after = _event_id(auth.get("last_event_id") if isinstance(auth, dict) else None, "last_event_id")
        except AuthError as exc:
            hub.metrics.connections_refused += 1
            raise refuse(exc.code, exc.message) from None
        # Registered (pending) before the query, so membership changes relayed
        # meanwhile are recorded and re-applied on top of its answer.
        state = SocketState(sid=sid, principal=principal, rooms=rooms.base_rooms(principal))
        hub.registry.add(state)
        try:
            # Batched with the other connects of this moment (gateway.lookup).
            hub.registry.set_rooms(state, await lookup.rooms_of(principal))
        except Exception:  # noqa: BLE001 - the database is down: refuse, the client retries
            log.warning("room lookup failed for %s", principal, exc_info=True)
            hub.registry.remove(sid)
            hub.metrics.connections_refused += 1
            raise refuse("unavailable", "the service is unavailable, try again") from None
        hub.registry.expire_at(state, claims.get("exp"))
        hub.metrics.connections += 1
        hub.spawn(_start(hub, state, after))
        # Marked at once (not after the replay), so a tab opened just before
        # another one closes keeps the principal online.
        await hub.presence.socket_connected(state)

    @sio.event
    async def disconnect(sid, reason=None):
        state = hub.registry.remove(sid)
        if state is not None:
            await hub.typing.socket_gone(state)
            await hub.presence.socket_disconnected(state)

    @sio.event
    async def sync(sid, data=None):
        """`sync {last_event_id}`: replay what was missed, answered with an ack."""
        state = hub.registry.get(sid)
        if state is None:
            return {"ok": False, "error": "not_connected"}
        try:
            after = _event_id(data.get("last_event_id") if isinstance(data, dict) else None, "last_event_id")
        except AuthError as exc:
            return {"ok": False, "error": exc.code, "message": exc.message}
        if after is None:
            return {"ok": False, "error": "bad_request", "message": "last_event_id is required"}
        async with state.locked():
            hub.registry.go_pending(state)
            result = await replay_then_live(hub, state, after)
        return {"ok": True, **result}

