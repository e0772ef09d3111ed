"""A small outgoing-packet queue for each Engine.IO socket.

python-engineio gives every socket an `asyncio.Queue` (through the server's
`create_queue`, its documented hook) that its writer task drains. An idle
socket's `asyncio.Queue` holds three deques and an `Event` with a fourth,
about 3 KB, and the writer's `wait_for(queue.get(), ...)` wraps the `get()`
coroutine in a Task that lives as long as the socket is idle (another KB).
With thousands of idle sockets per process that is a tenth of the memory per
connection.

`PacketQueue` keeps the part of `asyncio.Queue`'s interface that
python-engineio uses (put/put_nowait, get/get_nowait, task_done, join,
empty/qsize) for an unbounded queue, with nothing allocated while it is empty
and idle, and `get()` returning a plain Future: `wait_for` takes a Future as
it is, without a Task. It also says, publicly, whether a consumer is parked
on it (`consumer_waiting`), which `gateway.fast.emit` needs to know before
writing past the queue.

Semantics kept from `asyncio.Queue`: FIFO; a getter that is cancelled or
timed out before an item reached it loses nothing (a put hands an item only
to a getter still waiting, otherwise keeps it); `join()` waits until every
item put has been `task_done()`. One difference: an item is handed to the
waiting getter's Future at `put` time, so a getter cancelled in the same
loop turn after that drops the item; python-engineio only cancels its writer
when the socket is going away.
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from engineio.packet import OPEN


class PacketQueue:
    __slots__ = ("_items", "_getters", "_unfinished", "_joiners")

    def __init__(self, maxsize: int = 0):
        if maxsize:
            raise ValueError("PacketQueue is unbounded")
        self._items: deque | None = None
        self._getters: deque | None = None  # Futures of parked get() calls
        self._unfinished = 0
        self._joiners: list[asyncio.Future] | None = None

    # Size.
    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return False

    def consumer_waiting(self) -> bool:
        """A get() is parked on this empty queue (a writer waits for work)."""
        getters = self._getters
        if not getters:
            return False
        for fut in getters:
            if not fut.done():
                return True
        return False

    # Putting.
    def put_nowait(self, item: Any) -> None:
        self._unfinished += 1
        getters = self._getters
        while getters:
            fut = getters.popleft()
            if not fut.done():  # skip getters that timed out or were cancelled
                fut.set_result(item)
                if not getters:
                    self._getters = None
                return
        self._getters = None
        if self._items is None:
            self._items = deque()
        self._items.append(item)

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    # Getting.
    def get_nowait(self) -> Any:
        items = self._items
        if not items:
            raise asyncio.QueueEmpty
        item = items.popleft()
        if not items:
            self._items = None  # an idle queue keeps no deque
        return item

    def get(self) -> asyncio.Future:
        """A Future of the next item (await it, or pass it to `wait_for`)."""
        fut = asyncio.get_running_loop().create_future()
        if self._items:
            fut.set_result(self.get_nowait())
            return fut
        if self._getters is None:
            self._getters = deque()
        self._getters.append(fut)
        return fut

    # Completion.
    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if not self._unfinished and self._joiners:
            joiners, self._joiners = self._joiners, None
            for fut in joiners:
                if not fut.done():
                    fut.set_result(None)

    async def join(self) -> None:
        if not self._unfinished:
            return
        fut = asyncio.get_running_loop().create_future()
        if self._joiners is None:
            self._joiners = []
        self._joiners.append(fut)
        await fut


class HandshakeQueue(PacketQueue):
    """A PacketQueue that advertises the exact `pingInterval` in the Engine.IO
    OPEN packet, which passes through the queue: python-engineio computes
    `int(seconds) * 1000`, so a sub-second interval (0.5 s) reads 0 ms and a
    strict client gives up on the server at once. Used only for such settings."""

    __slots__ = ()
    ping_interval_ms = 0

    def put_nowait(self, item: Any) -> None:
        if getattr(item, "packet_type", None) == OPEN and isinstance(getattr(item, "data", None), dict):
            item.data["pingInterval"] = self.ping_interval_ms
        super().put_nowait(item)


def install(eio: Any, ping_interval: float | None = None) -> None:
    """Give this Engine.IO server's new sockets a `PacketQueue` (an instance
    attribute: other servers and the installed library are untouched); a
    `HandshakeQueue` when `ping_interval` is not whole seconds."""
    queue_class: type[PacketQueue] = PacketQueue
    if ping_interval is not None and ping_interval != int(ping_interval):
        queue_class = type("HandshakeQueue", (HandshakeQueue,), {"__slots__": (),
                                                                 "ping_interval_ms": round(ping_interval * 1000)})
    eio.create_queue = lambda *args, **kwargs: queue_class(*args, **kwargs)
