"""Coalescing: many callers asking for one key each, answered by one call for all.

A connect storm asks the database for each principal's rooms and Redis to
mark each principal online. One query (or one pipeline) per connect means a
worker-thread hop and a round trip each, and threads fighting the event loop
for the GIL. `Coalescer.get(key)` instead queues the key; the keys queued in
the same turn of the event loop, or while an earlier batch is in flight, go
out together in one `fetch(keys) -> {key: value}` call. With little load a
batch is one key and costs one loop turn more than a direct call.
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    def __init__(self, fetch: Callable[[list[K]], Awaitable[dict[K, V]]], max_batch: int = 500,
                 max_in_flight: int = 2, spawn: Callable[[Awaitable], asyncio.Future] | None = None):
        self.fetch, self.max_batch, self.max_in_flight = fetch, max_batch, max_in_flight
        # The owner's task spawner (Hub.spawn: cancelled at shutdown), else our own.
        self.spawn = spawn or self._spawn
        self.waiting: dict[K, asyncio.Future] = {}
        self.in_flight = 0
        self.batches = 0  # fetch calls made (tests and metrics look at it)
        self._scheduled = False
        self._tasks: set[asyncio.Task] = set()

    async def get(self, key: K) -> V:
        """The value for `key`, from the next batch that includes it. Callers
        asking for the same key meanwhile share one answer."""
        future = self.waiting.get(key)
        if future is None:
            future = self.waiting[key] = asyncio.get_running_loop().create_future()
            self._kick()
        # Shielded: one caller giving up (a client that went away) must not
        # cancel the answer others wait for.
        return await asyncio.shield(future)

    def _kick(self) -> None:
        if not self._scheduled and self.waiting and self.in_flight < self.max_in_flight:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if not self.waiting or self.in_flight >= self.max_in_flight:
            return
        keys = list(self.waiting)[: self.max_batch]
        batch = {key: self.waiting.pop(key) for key in keys}
        self.in_flight += 1
        self.batches += 1
        self.spawn(self._run(batch))
        self._kick()  # more than max_batch waiting: the next batch may start too

    async def _run(self, batch: dict[K, asyncio.Future]) -> None:
        try:
            found = await self.fetch(list(batch))
        except Exception as exc:  # noqa: BLE001 - every caller of the batch gets the error
            for future in batch.values():
                if not future.done():
                    future.set_exception(exc)
        except BaseException:  # cancelled (shutdown): so are its callers
            for future in batch.values():
                future.cancel()
            raise
        else:
            for key, future in batch.items():
                if future.done():
                    continue
                if key in found:
                    future.set_result(found[key])
                else:
                    future.set_exception(KeyError(key))
        finally:
            self.in_flight -= 1
            self._kick()

    def _spawn(self, coro: Awaitable) -> asyncio.Future:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
