"""Presence as the gateways keep it in Redis (gateway/presence.py), read by
processes that are not gateways: the delivery worker asks whether a principal
has a live socket anywhere before it pushes or emails them.

Keys: `<EVENTS_CHANNEL>:presence:<role>:<id>`, a sorted set with one member
per gateway scored by its expiry; `<EVENTS_CHANNEL>:seen:<role>:<id>`, when
the principal's last socket closed (ISO 8601). Without Redis presence lives
in each gateway's memory and cannot be read from here: the answer is None
(unknown), and callers decide (push anyway, digest by the age of what is unread).
"""
from __future__ import annotations

import datetime as dt
import time

from redis import Redis

from shared.auth import Principal


class PresenceLookup:
    def __init__(self, redis: Redis | None, events_channel: str):
        self.redis, self.prefix = redis, events_channel + ":"

    def _key(self, kind: str, p: Principal) -> str:
        return f"{self.prefix}{kind}:{p.role}:{p.id}"

    def online(self, principals: list[Principal]) -> dict[Principal, bool | None]:
        """Whether each has a live socket on any gateway (None: no Redis, unknown). One round trip."""
        if self.redis is None:
            return dict.fromkeys(principals)
        now = time.time()
        with self.redis.pipeline(transaction=False) as pipe:
            for p in principals:
                pipe.zcount(self._key("presence", p), now, "+inf")
            counts = pipe.execute()
        return {p: count > 0 for p, count in zip(principals, counts, strict=True)}

    def is_online(self, principal: Principal) -> bool | None:
        return self.online([principal])[principal]

    def offline_since(self, principal: Principal) -> dt.datetime | None:
        """When the principal's last socket closed (naive UTC); None while
        online, without Redis, or when no gateway has seen them for 30 days."""
        if self.redis is None or self.is_online(principal):
            return None
        seen = self.redis.get(self._key("seen", principal))
        if not seen:
            return None
        when = dt.datetime.fromisoformat(seen.decode().replace("Z", "+00:00"))
        return when.astimezone(dt.timezone.utc).replace(tzinfo=None)
