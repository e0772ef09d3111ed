"""Publishing from outside (a PHP backend): over HTTP and straight to Redis.

The direct path builds the channel v2 message exactly as the README's PHP
example does: json_encode the array of envelopes, hash_hmac('sha256') over
"<time()>.<that exact string>", then json_encode {v, ts, data, sig} and
PUBLISH it.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import redis

from tests.gateway.conftest import EVENTS_SECRET, SHARED_REDIS
from tests.gateway.helpers import Sock, run

STUDENT = ("student", 31)


def php_style_publish(channel: str, secret: str, envelopes: list[dict]) -> None:
    data = json.dumps(envelopes)  # $data = json_encode($envelopes);
    ts = int(time.time())  # $ts = time();
    sig = hmac.new(secret.encode(), f"{ts}.{data}".encode(), hashlib.sha256).hexdigest()  # hash_hmac(.., "$ts.$data")
    message = json.dumps({"v": 2, "ts": ts, "data": data, "sig": sig})  # json_encode(['v' => 2, 'ts' => $ts, ...])
    client = redis.Redis.from_url(SHARED_REDIS)
    try:
        client.publish(channel, message)
    finally:
        client.close()


def test_http_publish_is_delivered_and_replayed(gateways, api, token):
    gateway = gateways()

    async def scenario():
        sock = await Sock(gateway.url).connect(token(*STUDENT))
        published = await api.a(
            "publish", {"to": {"role": "student", "id": 31}}, "invoice:paid", {"amount": 12}, ("service", 7)
        )
        got = await sock.wait_for(lambda c: c.of("invoice:paid"), what="invoice:paid")
        assert got[0]["id"] == published["id"] and got[0]["data"] == {"amount": 12}
        assert got[0]["room"] == "student:31"
        await sock.close()
        # Away clients get it by replay: it is in the log.
        back = await Sock(gateway.url).connect(token(*STUDENT), last_event_id=published["id"] - 1)
        replayed = await back.wait_for(lambda c: c.of("invoice:paid"), what="replayed invoice:paid")
        assert replayed[0]["id"] == published["id"]
        await back.close()

    run(scenario())


def test_direct_redis_publish_the_php_way_is_delivered_live(gateways, channel, token):
    gateway = gateways()

    async def scenario():
        sock = await Sock(gateway.url).connect(token(*STUDENT))
        envelope = {"id": None, "type": "invoice:paid", "room": "student:31", "seq": None,
                    "ts": "2026-11-21T10:00:00.000Z", "data": {"amount": "12.50 €"}}
        php_style_publish(channel, EVENTS_SECRET, [envelope])
        got = await sock.wait_for(lambda c: c.of("invoice:paid"), what="direct invoice:paid")
        assert got[0] == envelope
        # The same message signed with another key is dropped.
        php_style_publish(channel, "not-the-secret", [{**envelope, "data": {"amount": "forged"}}])
        await php_only_once(sock)
        await sock.close()

    async def php_only_once(sock):
        import asyncio

        await asyncio.sleep(0.5)
        assert [e["data"] for e in sock.of("invoice:paid")] == [{"amount": "12.50 €"}]

    run(scenario())
    assert gateway.metrics().get("gateway_events_dropped_bad_signature_total", 0) >= 1
