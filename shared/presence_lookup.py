"""Presence as the gateways keep it in Redis (gateway/presence.py), read by
processes that are not gateways: the delivery worker asks whether a principal
has a live socket anywhere before it pushes or emails them.

Keys (gateway/presence_store.py): `<EVENTS_CHANNEL>:presence:<role>:<id>`, a
sorted set with one member per gateway scored by its expiry;
`<EVENTS_CHANNEL>:lastseen:<role>:<id>`, the principal's last activity (unix
seconds), which only moves forward. Without Redis presence lives
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

    def states(self, principals: list[Principal]) -> dict[Principal, tuple[bool | None, dt.datetime | None]]:
        """(online, offline since) of each, in one round trip. Online is None
        without Redis (unknown); offline since is None while online, without
        Redis, or when no gateway saw them in 30 days (naive UTC)."""
        if self.redis is None:
            return dict.fromkeys(principals, (None, None))
        now = time.time()
        with self.redis.pipeline(transaction=False) as pipe:
            for p in principals:
                pipe.zcount(self._key("presence", p), now, "+inf")
                pipe.get(self._key("lastseen", p))
            results = pipe.execute()
        answers: dict[Principal, tuple[bool | None, dt.datetime | None]] = {}
        for p, live, seen in zip(principals, results[::2], results[1::2], strict=True):
            answers[p] = (True, None) if live > 0 else (False, _naive_utc(float(seen)) if seen else None)
        return answers

    def is_online(self, principal: Principal) -> bool | None:
        return self.states([principal])[principal][0]

    def offline_since(self, principal: Principal) -> dt.datetime | None:
        return self.states([principal])[principal][1]


def _naive_utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).replace(tzinfo=None)
