"""One timer for every socket's next ping, instead of a Task per socket.

python-engineio schedules each socket's next PING (at connect and after each
PONG) with `server.start_background_task(socket._send_ping)`: a Task that
sleeps `ping_interval`, so every idle socket holds a Task, its coroutine
frame, a sleep Future and a TimerHandle, and the Task's entry in asyncio's
weak set of all tasks: about a kilobyte each, for a PING every 25 s.

`PingWheel` takes those calls over: the socket goes into the bucket of its due
time rounded up to a tick, and one timer per bucket that has any sends the
PINGs of all its sockets, the way `_send_ping` does after its sleep (skip a
closing or closed socket; else `last_ping = now` and `send(PING)`). A PING
goes out at most one tick late. Any other background task takes the
library's way.

It leans on python-engineio 4's `AsyncSocket._send_ping` being what
`schedule_ping` starts (checked by `gateway.fast.choose` with the fast queue,
`GATEWAY_FAST_QUEUE`); if the installed library calls something else, every
task takes the library's way and nothing changes.
"""
from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

from engineio import packet as eio_packet
from engineio.async_socket import AsyncSocket

log = logging.getLogger(__name__)
# Upper bound of how late a PING may go out (a tenth of the interval when that is shorter).
MAX_TICK = 0.1


class PingWheel:
    def __init__(self, eio: Any, interval: float):
        self.eio, self.interval = eio, interval
        self.tick = min(MAX_TICK, interval / 10) or MAX_TICK
        self.buckets: dict[int, list[Any]] = {}
        self._start = eio.start_background_task
        self.tasks: set[asyncio.Task] = set()

    def install(self) -> bool:
        """Route this server's `_send_ping` tasks through the wheel (an instance attribute)."""
        if not callable(getattr(AsyncSocket, "_send_ping", None)):
            log.warning("ping wheel off: python-engineio's AsyncSocket has no _send_ping")
            return False
        self.eio.start_background_task = self.start_background_task
        return True

    def start_background_task(self, target, *args, **kwargs):
        if getattr(target, "__func__", None) is AsyncSocket._send_ping and not args and not kwargs:
            self.add(target.__self__)
            return None  # schedule_ping does not use the task
        return self._start(target, *args, **kwargs)

    def add(self, eio_socket: Any) -> None:
        due = math.ceil((time.monotonic() + self.interval) / self.tick)
        bucket = self.buckets.get(due)
        if bucket is None:
            bucket = self.buckets[due] = []
            loop = asyncio.get_running_loop()
            loop.call_at(loop.time() + max(0.0, due * self.tick - time.monotonic()), self._due, due)
        bucket.append(eio_socket)

    def _due(self, due: int) -> None:
        sockets = self.buckets.pop(due, ())
        if sockets:
            task = asyncio.ensure_future(self._ping(sockets))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    @staticmethod
    async def _ping(sockets: list[Any]) -> None:
        for s in sockets:
            if s.closing or s.closed:
                continue
            s.last_ping = time.time()
            try:
                await s.send(eio_packet.Packet(eio_packet.PING))
            except Exception:  # noqa: BLE001 - one socket's failure must not skip the others' pings
                log.debug("ping to %s failed", getattr(s, "sid", "?"), exc_info=True)
