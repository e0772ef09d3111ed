"""The gateway's parts in one object, stored under an app key.

Handlers receive it instead of reaching for module globals, so several
gateways can run in one process (tests) and shutdown has one place to look.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Callable, TypeVar

import socketio
from sqlalchemy.engine import Engine

from gateway.metrics import Metrics
from gateway.registry import Registry
from shared.config import Config
from shared.events import BadSignature, decode_channel_message

T = TypeVar("T")


class Hub:
    def __init__(self, config: Config, sio: socketio.AsyncServer):
        self.config = config
        self.sio = sio
        self.id = uuid.uuid4().hex[:12]
        self.metrics = Metrics()
        self.registry = Registry(sio)
        self.engine: Engine | None = None
        self.redis: Any = None  # redis.asyncio.Redis when REDIS_URL is set
        # Set by their setup_* helpers in gateway.app.
        self.fast: Any = None  # gateway.fastemit.FastEmitter: live room deliveries
        self.relay: Any = None
        self.fanout: Any = None
        self.typing: Any = None
        self.presence: Any = None
        self.lookup: Any = None  # gateway.lookup.RoomLookup: rooms at connect
        self._tasks: set[asyncio.Task] = set()

    def verified(self, raw: bytes, channel: str) -> list[dict]:
        """The envelopes of a signed channel message; unsigned or forged ones
        are dropped and counted (an empty list)."""
        try:
            return decode_channel_message(raw, self.config.events_signing_secret)
        except BadSignature as exc:
            self.metrics.events_dropped_bad_signature += 1
            logging.getLogger(__name__).warning("dropped a %s channel message: %s", channel, exc)
            return []

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` in a worker thread: the event loop never
        waits on the database. Each call is its own short transaction, so
        repeated reads of the log see new commits."""
        return await asyncio.to_thread(self._run, fn, args)

    def _run(self, fn: Callable[..., T], args: tuple) -> T:
        assert self.engine is not None
        with self.engine.connect() as conn:
            return fn(conn, *args)

    def spawn(self, coro) -> asyncio.Task:
        """A fire-and-forget task that is kept referenced until it ends."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2)
