"""shared/presence_lookup.py reads presence the way the gateways keep it in
Redis: the delivery worker's "is anyone's socket open?" across gateways."""
from __future__ import annotations

import redis

from shared.auth import Principal
from shared.presence_lookup import PresenceLookup
from shared.timeutil import utcnow
from tests.gateway.conftest import SHARED_REDIS
from tests.gateway.helpers import Sock, eventually, run

STUDENT = Principal("student", 2)


def test_online_on_any_gateway_offline_after_the_last_socket_and_its_grace(gateways, token, channel):
    first, second = gateways(), gateways()
    client = redis.Redis.from_url(SHARED_REDIS)
    lookup = PresenceLookup(client, channel)
    assert lookup.states([STUDENT]) == {STUDENT: (False, None)}  # never seen

    async def scenario():
        a = await Sock(first.url).connect(token("student", 2))
        b = await Sock(second.url).connect(token("student", 2))
        await eventually(lambda: lookup.is_online(STUDENT), what="online")
        await a.close()
        # The other gateway still holds a socket: online through the first one's grace period and after it.
        await eventually(lambda: client.zcard(f"{channel}:presence:student:2") == 1, what="first gateway leaves")
        assert lookup.is_online(STUDENT) is True and lookup.offline_since(STUDENT) is None
        await b.close()
        await eventually(lambda: lookup.is_online(STUDENT) is False, what="offline")
        return await eventually(lambda: lookup.offline_since(STUDENT), what="last seen")

    try:
        since = run(scenario())
        assert abs((utcnow() - since).total_seconds()) < 30
    finally:
        client.close()


def test_without_redis_presence_is_unknown():
    assert PresenceLookup(None, "rt:x").states([STUDENT]) == {STUDENT: (None, None)}
