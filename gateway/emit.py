"""Live room deliveries the library's way: python-socketio's `AsyncServer.emit`.

The relay emits through an emitter: this one (GATEWAY_FAST_EMIT=0, or the
installed libraries are not the tested ones), or its subclass
`gateway.fast.emit.FastEmitter`. Both count deliveries for `/metrics`:
`direct` (written straight to a websocket, the fast path only) and `queued`
(through python-engineio's per-socket queue). Before queueing a live event
for a socket they ask `gateway.backpressure.SlowConsumers` (when given one)
whether its backlog is past `GATEWAY_MAX_QUEUED`; such a socket gets
nothing more and is disconnected (`slow_consumer`).
"""
from __future__ import annotations

from typing import Any, Iterable

import socketio

from gateway.backpressure import SlowConsumers
from gateway.registry import NAMESPACE


class SocketIOEmitter:
    fast = False  # True for FastEmitter: gateway_fast_path_active{path="emit"}

    def __init__(self, sio: socketio.AsyncServer, slow: SlowConsumers | None = None):
        """`slow`: the backlog bound (None: unbounded, as python-engineio is)."""
        self.sio, self.slow = sio, slow
        self.direct = 0
        self.queued = 0

    async def emit(self, event: str, data: Any, room: str, skip_sid: Iterable[str] | None = None) -> int:
        """Emit `event` with `data` (one argument) to the sockets of `room` in
        this process, except `skip_sid`; returns how many it went to."""
        return await self._library_emit(event, data, room, skip_sid)

    async def _library_emit(self, event: str, data: Any, room: str, skip_sid: Iterable[str] | None) -> int:
        skip = set(skip_sid) if skip_sid else set()
        slow, count, behind = self.slow, 0, []
        for sid, eio_sid in self.sio.manager.get_participants(NAMESPACE, room):
            if sid in skip:
                continue
            if slow is not None and slow.over(sid, eio_sid):
                behind.append(sid)
            else:
                count += 1
        skip.update(behind)
        self.queued += count
        await self.sio.emit(event, data, to=room, skip_sid=list(skip) or None)
        return count
