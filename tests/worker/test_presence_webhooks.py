"""Presence webhooks end to end: real gateways (two, on one Redis), real
Socket.IO clients, the worker process and a receiver that checks every
Standard Webhooks signature. The worker sends one delivery at a time
(WORKER_CONCURRENCY=1), so the receiver gets them in log order and an event
arriving proves that nothing logged before it is still on its way."""
from __future__ import annotations

import asyncio
import json
import time

import pytest

from tests.gateway.conftest import channel, gateways, redis_url  # noqa: F401 - fixtures
from tests.gateway.helpers import Sock, run

GRACE = 2.0
A, B, C = ("student", 71), ("student", 72), ("student", 73)


def changes(receiver, who=None) -> list[str]:
    """`presence:*` types the receiver got, in arrival order (of one principal if given)."""
    found = []
    for envelope in receiver.envelopes():
        principal = envelope["data"]["principal"]
        if who is None or (principal["role"], principal["id"]) == who:
            found.append(envelope["type"])
    return found


async def arrived(receiver, type_: str, who, count: int = 1, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while changes(receiver, who).count(type_) < count:
        assert time.monotonic() < deadline, f"no {type_} for {who}: {changes(receiver)}"
        await asyncio.sleep(0.05)


@pytest.fixture
def presence_hook(hook, workers):
    hook(["presence:online", "presence:offline"])
    return workers(WORKER_CONCURRENCY="1")


@pytest.fixture
def two_gateways(gateways):  # noqa: F811 - the imported fixture
    return gateways(GATEWAY_PRESENCE_GRACE=GRACE), gateways(GATEWAY_PRESENCE_GRACE=GRACE)


def test_online_once_across_gateways_then_offline_after_the_grace(presence_hook, receiver, two_gateways, token):
    first, second = two_gateways

    async def scenario():
        tab = await Sock(first.url).connect(token(*A))
        await arrived(receiver, "presence:online", A)
        other_tab = await Sock(second.url).connect(token(*A))
        # B's online, logged by the same gateway after A's second socket, is the sentinel.
        sentinel = await Sock(second.url).connect(token(*B))
        await arrived(receiver, "presence:online", B)
        assert changes(receiver) == ["presence:online", "presence:online"]

        await tab.close()
        await other_tab.close()
        closed = time.monotonic()
        await arrived(receiver, "presence:offline", A)
        assert time.monotonic() - closed >= GRACE - 0.2  # debounced, not at the close
        # Not a socket event: B, connected all along, got none of them.
        assert [name for name, _ in sentinel.events if name.startswith("presence:")] == []
        await sentinel.close()
        await arrived(receiver, "presence:offline", B)

    run(scenario())
    assert changes(receiver) == ["presence:online"] * 2 + ["presence:offline"] * 2
    assert all(r["verified"] for r in receiver.received)
    assert len(set(receiver.ids())) == 4  # one webhook-id per change
    online, offline = (json.loads(r["body"]) for r in receiver.received[::2])
    assert online["room"] == offline["room"] == "system:presence"
    assert online["data"]["principal"] == {"role": "student", "id": 71} and online["data"]["online"] is True
    assert offline["data"]["online"] is False and offline["data"]["last_seen"].endswith("Z")
    assert offline["data"]["last_seen"] >= online["data"]["last_seen"]


def test_a_reload_within_the_grace_sends_neither_offline_nor_online(presence_hook, receiver, two_gateways, token):
    first, _ = two_gateways

    async def scenario():
        tab = await Sock(first.url).connect(token(*A))
        sentinel = await Sock(first.url).connect(token(*B))
        await arrived(receiver, "presence:online", A)
        await arrived(receiver, "presence:online", B)
        await tab.close()
        await sentinel.close()  # B's offline comes a grace after this, after any A offline would
        reloaded = await Sock(first.url).connect(token(*A))
        await arrived(receiver, "presence:offline", B)
        assert changes(receiver, A) == ["presence:online"]
        await reloaded.close()
        await arrived(receiver, "presence:offline", A)

    run(scenario())
    assert changes(receiver, A) == ["presence:online", "presence:offline"]
    assert all(r["verified"] for r in receiver.received)


def test_a_crashed_gateways_principals_go_offline_once_their_entries_age_out(presence_hook, receiver, gateways,  # noqa: F811
                                                                             token):
    doomed = gateways(GATEWAY_PRESENCE_GRACE=GRACE, GATEWAY_PRESENCE_TTL=2)
    survivor = gateways(GATEWAY_PRESENCE_GRACE=GRACE, GATEWAY_PRESENCE_TTL=2)

    async def scenario():
        await Sock(doomed.url).connect(token(*C))
        stays = await Sock(survivor.url).connect(token(*A))
        await arrived(receiver, "presence:online", C)
        await arrived(receiver, "presence:online", A)
        doomed.proc.kill()  # no goodbye: its entries in Redis only age out
        doomed.proc.wait(10)
        await arrived(receiver, "presence:offline", C, timeout=30)
        await stays.close()
        await arrived(receiver, "presence:offline", A)

    run(scenario(), timeout=90)
    # Offline once (one sweep wins), A untouched by the sweep until it left.
    assert changes(receiver) == ["presence:online"] * 2 + ["presence:offline"] * 2
    assert changes(receiver, C) == ["presence:online", "presence:offline"]
