"""Slow consumers: a bound on each socket's backlog, and the disconnect past it.

A client that stops reading backs up TCP, then the websocket transport's
buffer (bounded in bytes by aiohttp's flow control and by the fast emitter,
which writes directly only below `gateway.fast.emit.BACKLOG_LIMIT`), then
its Engine.IO queue, which python-engineio never bounds. So the emitters ask
`over(sid, eio_sid, pending)` before queueing a live event for a socket:
`pending` is what the fast emitter knows is still in the transport, in
packets. Past `GATEWAY_MAX_QUEUED` the socket is disconnected with reason
`slow_consumer`: its Engine.IO session closes (the Socket.IO disconnect
handlers run, so it leaves its rooms at once) and its TCP connection is
aborted, which drops what was waiting for it and ends the writer stuck on
the full transport. The client sees a transport close, reconnects and
replays with `last_event_id`.

The transport of a socket: an upgrade from long-polling arrives as its own
request (`?sid=`), remembered by `middleware` while it lasts; a
websocket-first connection's is the request of its connect (`get_environ`).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio
from aiohttp import web

log = logging.getLogger(__name__)
REASON = "slow_consumer"


class SlowConsumers:
    def __init__(self, sio: socketio.AsyncServer, max_queued: int):
        self.sio, self.eio, self.max_queued = sio, sio.eio, max_queued
        self.disconnects = 0  # gateway_slow_consumer_disconnects_total
        # Engine.IO sid -> transport of its websocket upgrade request, while it lasts.
        self.upgrades: dict[str, asyncio.BaseTransport] = {}
        self.dropping: set[str] = set()  # Engine.IO sids being disconnected: queue nothing more
        self._tasks: set[asyncio.Task] = set()

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        sid = request.query.get("sid") if request.headers.get("Upgrade", "").lower() == "websocket" else None
        if sid is None or request.transport is None:
            return await handler(request)
        self.upgrades[sid] = request.transport
        try:
            return await handler(request)
        finally:
            if self.upgrades.get(sid) is request.transport:
                del self.upgrades[sid]

    def over(self, sid: str, eio_sid: str, pending: int = 0) -> bool:
        """True if this socket must get nothing more: its backlog (Engine.IO
        queue plus `pending`) reached the bound, and it is being disconnected."""
        socket = self.eio.sockets.get(eio_sid)
        if socket is None:
            return False
        if eio_sid in self.dropping or socket.closing or socket.closed:
            return True
        if socket.queue.qsize() + pending < self.max_queued:
            return False
        self._drop(sid, eio_sid, socket)
        return True

    def _drop(self, sid: str, eio_sid: str, socket: Any) -> None:
        self.dropping.add(eio_sid)
        self.disconnects += 1
        log.info("disconnecting %s: %s (more than %d packets waiting)", sid, REASON, self.max_queued)
        transport = self.upgrades.get(eio_sid)
        if transport is None:
            request = (self.sio.get_environ(sid) or {}).get("aiohttp.request")
            transport = getattr(request, "transport", None)
        task = asyncio.ensure_future(self._close(eio_sid, socket, transport))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close(self, eio_sid: str, socket: Any, transport: asyncio.BaseTransport | None) -> None:
        try:
            # abort: no CLOSE packet, which could not get through anyway.
            await socket.close(wait=False, abort=True, reason=REASON)
        finally:
            self.dropping.discard(eio_sid)
            if transport is not None:
                transport.abort()
            else:  # no transport known: at least end the writer once it gets unstuck
                await socket.queue.put(None)
