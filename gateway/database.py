"""The gateway's database access: short transactions on worker threads."""
from __future__ import annotations

import asyncio
from typing import Any, Callable, TypeVar

from sqlalchemy.engine import Engine

T = TypeVar("T")


class Database:
    def __init__(self, engine: Engine):
        self.engine = engine

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)` in a worker thread: the event loop never
        waits on the database. Each call is its own short transaction, so
        repeated reads of the log see new commits."""
        return await asyncio.to_thread(self._run, fn, args)

    def _run(self, fn: Callable[..., T], args: tuple) -> T:
        with self.engine.connect() as conn:
            return fn(conn, *args)

