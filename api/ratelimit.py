"""Sliding-window rate limit on sending messages, per principal.

The `limits` library's moving window: at most `SEND_RATE_LIMIT` sends in any
`SEND_RATE_WINDOW_SECONDS`, wherever the window falls (a fixed window per
clock minute lets twice the limit through across a minute boundary). With
`REDIS_URL` set the window lives in Redis, so every API worker shares it;
otherwise in this process. A Redis outage lets messages through (logged):
losing the limit beats losing the chat.
"""
from __future__ import annotations

import logging
import math
import time

from flask import current_app
from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from api.auth import app_config
from shared.auth import Principal
from shared.config import Config
from shared.errors import RateLimited
from shared.logs import cause

log = logging.getLogger(__name__)


class SendLimiter:
    """`hit(key)` counts one send: None when allowed, else seconds to wait."""

    def __init__(self, config: Config):
        self.item = RateLimitItemPerSecond(config.send_rate_limit, config.send_rate_window_seconds, namespace="send")
        if config.redis_url:
            storage = storage_from_string(
                config.redis_url, key_prefix=config.rate_limit_prefix.rstrip(":"), socket_timeout=2,
                socket_connect_timeout=2,
            )
        else:
            storage = storage_from_string("memory://")
        self.strategy = MovingWindowRateLimiter(storage)

    def hit(self, key: str) -> float | None:
        try:
            if self.strategy.hit(self.item, key):
                return None
            reset_at = self.strategy.get_window_stats(self.item, key).reset_time
        except Exception as exc:  # noqa: BLE001 - any storage failure: let the message through
            log.warning("rate limit check skipped: storage unavailable: %s", cause(exc))
            return None
        return reset_at - time.time()


def limiter() -> SendLimiter:
    """The app's send limiter, built on first use from its config."""
    existing = current_app.extensions.get("send_limiter")
    if existing is None:
        existing = current_app.extensions["send_limiter"] = SendLimiter(app_config())
    return existing


def check_send_rate(principal: Principal) -> None:
    """Raise RateLimited (429 + Retry-After) past the configured sends per window."""
    config = app_config()
    if config.send_rate_limit <= 0:
        return
    wait = limiter().hit(str(principal))
    if wait is not None:
        raise RateLimited(
            "too many messages; slow down",
            retry_after=max(1, math.ceil(wait)),
            details={"limit": config.send_rate_limit, "window_seconds": config.send_rate_window_seconds},
        )
