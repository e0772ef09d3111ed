"""Fire-and-forget tasks of one gateway, kept referenced and cancelled at shutdown."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Coroutine, Iterable

log = logging.getLogger(__name__)


async def stop(tasks: Iterable[asyncio.Task], grace: float = 1.0, timeout: float = 3.0) -> None:
    """Cancel the tasks and wait for them; cancel again, every 0.1 s after
    `grace`, those still running, and give up on any left after `timeout`.

    Again, because on Python 3.11 `asyncio.wait_for` swallows a cancellation
    that lands as the awaited call completes (CPython gh-86296, fixed in 3.12).
    redis-py sends every command through it, the relay waits for its wake-up
    with it: a loop that lost its cancellation would run on and the process
    would never exit. The grace leaves a task that did hear it its clean-up.
    """
    pending = set(tasks)
    if not pending:
        return
    for task in pending:
        task.cancel()
    loop = asyncio.get_running_loop()
    start = loop.time()
    _, pending = await asyncio.wait(pending, timeout=grace)
    while pending and loop.time() - start < timeout:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
    for task in pending:
        log.warning("%s did not end when cancelled; exiting without it", task.get_coro())


class Tasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
        """A task that is kept referenced until it ends."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel_all(self) -> None:
        await stop(list(self._tasks))
