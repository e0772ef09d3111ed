"""Channel v2 on a live gateway: a captured, validly signed message replayed
on the bus is dropped and counted (on the same gateway, and after a restart),
so it can neither repeat a live-only event nor put a removed member back in a
room; a message older than EVENTS_MAX_AGE is dropped; v1 only on request.
Non-arrival is proven by a later sentinel event, never by a sleep."""
from __future__ import annotations

import json
import time

import redis

from shared.events import encode_channel_message, sign
from tests.gateway.conftest import EVENTS_SECRET
from tests.gateway.helpers import Sock, eventually, run

ADMIN = ("admin", 1)
MENTOR = ("mentor", 21)
STUDENT = ("student", 31)
REMOVED = ("student", 32)


def live(type_: str, room: str, data: dict) -> dict:
    return {"id": None, "type": type_, "room": room, "seq": None, "ts": "2026-12-01T00:00:00.000Z", "data": data}


def subscribed(gateway) -> None:
    run(eventually(lambda: gateway.metrics().get("gateway_redis_subscribed") == 1, what="the bus subscription"))


def publish(redis_url: str, channel: str, raw: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.publish(channel, raw)
    finally:
        client.close()


def test_a_replayed_live_only_message_is_delivered_once(gateways, redis_url, channel, token):
    gateway = gateways()
    subscribed(gateway)
    raw = encode_channel_message([live("notice:created", "student:31", {"n": 1})], EVENTS_SECRET)

    async def scenario():
        sock = await Sock(gateway.url).connect(token(*STUDENT))
        publish(redis_url, channel, raw)
        await sock.wait_for(lambda c: c.of("notice:created"), what="the first delivery")
        publish(redis_url, channel, raw)  # the same bytes again, as a replayer would send them
        sentinel = encode_channel_message([live("notice:sentinel", "student:31", {})], EVENTS_SECRET)
        publish(redis_url, channel, sentinel)
        await sock.wait_for(lambda c: c.of("notice:sentinel"), what="the sentinel")
        assert [e["data"] for e in sock.of("notice:created")] == [{"n": 1}]
        await sock.close()

    run(scenario())
    assert gateway.metrics()["gateway_events_dropped_replayed_total"] == 1


def test_a_membership_message_replayed_after_a_restart_does_not_readmit(gateways, api, redis_url, channel, token):
    gateway = gateways()
    subscribed(gateway)
    cid = api.group(1, [MENTOR, STUDENT])
    capture = redis.Redis.from_url(redis_url).pubsub()
    capture.subscribe(channel)
    api.add(1, cid, REMOVED)
    captured = None
    deadline = time.monotonic() + 10
    while captured is None and time.monotonic() < deadline:
        message = capture.get_message(timeout=1)
        if message and message["type"] == "message" and b"participant:added" in message["data"]:
            captured = message["data"]
    capture.close()
    assert captured is not None, "the participant:added publish was not seen on the bus"
    api.remove(1, cid, REMOVED)
    gateway.stop()
    gateway.start()
    subscribed(gateway)

    async def scenario():
        removed = await Sock(gateway.url).connect(token(*REMOVED))
        publish(redis_url, channel, captured.decode())
        await eventually(lambda: gateway.metrics()["gateway_events_dropped_stale_total"] >= 1, what="the drop")
        await api.a("send", MENTOR, cid, "after the removal")
        await api.a("publish", {"to": {"role": "student", "id": 32}}, "notice:sentinel", {})
        await removed.wait_for(lambda c: c.of("notice:sentinel"), what="the sentinel")
        assert removed.bodies() == []
        await removed.close()

    run(scenario())


def test_a_message_older_than_the_age_limit_is_dropped(gateways, redis_url, channel, token):
    gateway = gateways(EVENTS_MAX_AGE=30)
    subscribed(gateway)
    old = encode_channel_message([live("notice:created", "student:31", {"n": 1})], EVENTS_SECRET,
                                 ts=int(time.time()) - 31)

    async def scenario():
        sock = await Sock(gateway.url).connect(token(*STUDENT))
        publish(redis_url, channel, old)
        publish(redis_url, channel, encode_channel_message([live("notice:sentinel", "student:31", {})], EVENTS_SECRET))
        await sock.wait_for(lambda c: c.of("notice:sentinel"), what="the sentinel")
        assert sock.of("notice:created") == []
        await sock.close()

    run(scenario())
    assert gateway.metrics()["gateway_events_dropped_stale_total"] == 1


def v1(envelopes: list[dict]) -> str:
    data = json.dumps(envelopes)
    return json.dumps({"v": 1, "data": data, "sig": sign(data, EVENTS_SECRET)})


def test_v1_is_refused_unless_accepted(gateways, redis_url, channel, token):
    strict, lenient = gateways(), gateways(EVENTS_ACCEPT_V1=1)
    subscribed(strict)
    subscribed(lenient)

    async def scenario():
        on_strict = await Sock(strict.url).connect(token(*STUDENT))
        on_lenient = await Sock(lenient.url).connect(token(*STUDENT))
        publish(redis_url, channel, v1([live("notice:created", "student:31", {"v": 1})]))
        publish(redis_url, channel, encode_channel_message([live("notice:sentinel", "student:31", {})], EVENTS_SECRET))
        for sock in (on_strict, on_lenient):
            await sock.wait_for(lambda c: c.of("notice:sentinel"), what="the sentinel")
        assert on_strict.of("notice:created") == []
        assert [e["data"] for e in on_lenient.of("notice:created")] == [{"v": 1}]
        for sock in (on_strict, on_lenient):
            await sock.close()

    run(scenario())
    assert strict.metrics()["gateway_events_dropped_version_total"] == 1
    assert lenient.metrics()["gateway_events_dropped_version_total"] == 0
