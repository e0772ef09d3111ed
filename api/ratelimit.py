"""Fixed-window rate limit on sending messages, per principal.

With `REDIS_URL` set the counters live in Redis (INCR + EXPIRE), so every API
worker shares them; otherwise they live in this process. A Redis outage lets
messages through (logged): losing the limit beats losing the chat.
"""
from __future__ import annotations

import logging
import math
import threading
import time

from flask import current_app

from api.auth import app_config
from shared.auth import Principal
from shared.errors import RateLimited

log = logging.getLogger(__name__)


class MemoryLimiter:
    def __init__(self, limit: int, window: int):
        self.limit, self.window = limit, window
        self.counts: dict[tuple[str, int], int] = {}
        self.lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count one hit; None if allowed, else seconds until the window ends."""
        now = time.time()
        slot = int(now // self.window)
        with self.lock:
            # Forget past windows so the dict stays small.
            for stale in [k for k in self.counts if k[1] < slot]:
                del self.counts[stale]
            count = self.counts[(key, slot)] = self.counts.get((key, slot), 0) + 1
        return None if count <= self.limit else (slot + 1) * self.window - now


class RedisLimiter:
    def __init__(self, redis_url: str, limit: int, window: int, prefix: str):
        import redis

        self.client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.limit, self.window, self.prefix = limit, window, prefix

    def hit(self, key: str) -> float | None:
        now = time.time()
        slot = int(now // self.window)
        name = f"{self.prefix}send:{key}:{slot}"
        try:
            pipe = self.client.pipeline()
            pipe.incr(name)
            pipe.expire(name, self.window + 1)
            count = pipe.execute()[0]
        except Exception:  # noqa: BLE001 - any Redis failure: let the message through
            log.warning("rate limit check skipped: Redis unavailable", exc_info=True)
            return None
        return None if count <= self.limit else (slot + 1) * self.window - now


def limiter():
    """The app's send limiter, built on first use from its config."""
    existing = current_app.extensions.get("send_limiter")
    if existing is None:
        config = app_config()
        if config.redis_url:
            existing = RedisLimiter(
                config.redis_url, config.send_rate_limit, config.send_rate_window_seconds, config.rate_limit_prefix
            )
        else:
            existing = MemoryLimiter(config.send_rate_limit, config.send_rate_window_seconds)
        current_app.extensions["send_limiter"] = existing
    return existing


def check_send_rate(principal: Principal) -> None:
    """Raise RateLimited (429 + Retry-After) past the configured sends per window."""
    if app_config().send_rate_limit <= 0:
        return
    wait = limiter().hit(str(principal))
    if wait is not None:
        retry_after = max(1, math.ceil(wait))
        raise RateLimited(
            "too many messages; slow down",
            retry_after=retry_after,
            details={"limit": app_config().send_rate_limit, "window_seconds": app_config().send_rate_window_seconds},
        )
