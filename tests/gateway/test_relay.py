"""Relay over Redis: messages sent over REST reach exactly the right sockets."""
from __future__ import annotations

import asyncio
import json

import redis

from shared.events import encode_channel_message
from tests.gateway.conftest import EVENTS_SECRET
from tests.gateway.helpers import JsClient, Sock, run

ADMIN = ("admin", 1)
MENTOR = ("mentor", 21)
STUDENT = ("student", 31)
OUTSIDER = ("student", 99)


def test_a_message_sent_over_rest_reaches_python_and_js_clients(gateways, api, token):
    gateway = gateways()
    cid = api.group(1, [MENTOR, STUDENT])
    js = JsClient({"url": gateway.url, "token": token(*STUDENT)})
    try:
        js.wait(lambda e: e.get("event") == "connect")

        async def scenario():
            py = await Sock(gateway.url).connect(token(*MENTOR))
            sent = await api.a("send", STUDENT, cid, "hello both")
            got = await py.wait_for(lambda c: c.of("message:created"), what="message:created")
            assert got[0]["room"] == f"conversation:{cid}" and got[0]["data"]["id"] == sent["id"]
            assert set(got[0]) >= {"id", "type", "room", "seq", "ts", "data"}
            await py.close()
            return got[0]

        envelope = run(scenario())
        received = js.wait(lambda e: e.get("event") == "message:created")
        assert received["payload"] == envelope
    finally:
        js.close()


def test_js_client_gets_connect_error_data_with_the_code(gateways):
    gateway = gateways()
    js = JsClient({"url": gateway.url, "token": "garbage"})
    try:
        error = js.wait(lambda e: e.get("event") == "connect_error")
        assert error["data"] == {"message": error["message"], "code": "token_malformed"}
    finally:
        js.close()


def test_a_non_participant_never_receives_a_conversations_events(gateways, api, token):
    gateway = gateways()
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        member = await Sock(gateway.url).connect(token(*MENTOR))
        outsider = await Sock(gateway.url).connect(token(*OUTSIDER))
        room = f"conversation:{cid}"
        # Made-up client events that name the room: none of them may join it.
        for name, data in [("join", room), ("subscribe", {"room": room}), ("enter_room", room),
                           ("sync", {"last_event_id": 0, "room": room}), ("message:created", {"room": room}),
                           ("typing", {"conversation_id": cid, "typing": True})]:
            await outsider.sio.emit(name, data)
        ack = await outsider.sio.call("typing", {"conversation_id": cid, "typing": True}, timeout=5)
        assert ack == {"ok": False, "error": "not_participant"}
        for n in range(3):
            await api.a("send", STUDENT, cid, f"secret {n}")
        await member.wait_for(lambda c: len(c.of("message:created")) == 3, what="3 messages")
        await asyncio.sleep(0.5)
        assert [name for name, _ in outsider.events if name not in ("presence",)] == []
        await member.close()
        await outsider.close()

    run(scenario())


def test_rooms_follow_membership_without_reconnecting(gateways, api, token):
    gateway = gateways()
    cid = api.group(1, [MENTOR])

    async def scenario():
        student = await Sock(gateway.url).connect(token(*STUDENT))
        await api.a("send", MENTOR, cid, "before")
        await api.a("add", 1, cid, STUDENT)
        await student.wait_for(lambda c: c.of("participant:added"), what="participant:added")
        await api.a("send", MENTOR, cid, "while a member")
        await student.wait_for(lambda c: "while a member" in c.bodies(), what="message after joining")
        await api.a("remove", 1, cid, STUDENT)
        await student.wait_for(lambda c: c.of("participant:removed"), what="participant:removed")
        await api.a("send", MENTOR, cid, "after")
        # A member still connected sees it; the removed one does not.
        probe = await Sock(gateway.url).connect(token(*MENTOR), last_event_id=0)
        await probe.wait_for(lambda c: "after" in c.bodies(), what="the last message")
        await asyncio.sleep(0.3)
        assert student.bodies() == ["while a member"]
        await student.close()
        await probe.close()

    run(scenario())


def test_a_conversation_created_later_is_joined_live(gateways, api, token):
    gateway = gateways()

    async def scenario():
        student = await Sock(gateway.url).connect(token(*STUDENT))
        cid = await api.a("group", 1, [MENTOR, STUDENT])
        await student.wait_for(lambda c: c.of("conversation:created"), what="conversation:created")
        await api.a("send", MENTOR, cid, "welcome")
        await student.wait_for(lambda c: "welcome" in c.bodies(), what="first message")
        await student.close()

    run(scenario())


def test_two_gateways_sharing_redis_deliver_once_to_each_client(gateways, api, token):
    first, second = gateways(), gateways()
    cid = api.group(1, [MENTOR, STUDENT, ("student", 32)])

    async def scenario():
        a = await Sock(first.url).connect(token(*MENTOR))
        b = await Sock(second.url).connect(token(*STUDENT))
        c = await Sock(second.url).connect(token("student", 32), transports=["polling"])
        for n in range(10):
            await api.a("send", ADMIN, cid, f"m{n}")
        for client in (a, b, c):
            await client.wait_for(lambda s: len(s.of("message:created")) >= 10, what="10 messages")
        await asyncio.sleep(0.7)  # a second copy (log safety net, other gateway) would have arrived
        for client in (a, b, c):
            assert client.bodies() == [f"m{n}" for n in range(10)]
            assert len(client.ids()) == len(set(client.ids()))
        for client in (a, b, c):
            await client.close()

    run(scenario())


def test_a_forged_channel_message_is_not_delivered(gateways, api, token, channel, redis_url):
    gateway = gateways()
    cid = api.group(1, [MENTOR, STUDENT])
    envelope = {"id": 10**9, "type": "message:created", "room": f"conversation:{cid}", "seq": 1,
                "ts": "2026-01-01T00:00:00.000Z", "data": {"body": "forged"}}
    client = redis.Redis.from_url(redis_url)

    async def scenario():
        student = await Sock(gateway.url).connect(token(*STUDENT))
        forged = json.loads(encode_channel_message([envelope], "not-the-secret"))
        client.publish(channel, json.dumps(forged))
        client.publish(channel, json.dumps({"v": 1, "data": json.dumps([envelope])}))  # unsigned
        client.publish(channel, "not json at all")
        good = dict(envelope, id=None, data={"body": "signed"})
        client.publish(channel, encode_channel_message([good], EVENTS_SECRET))
        await student.wait_for(lambda c: c.of("message:created"), what="the signed message")
        await asyncio.sleep(0.3)
        assert student.bodies() == ["signed"]
        await student.close()

    try:
        run(scenario())
    finally:
        client.close()
    assert gateway.metrics()["gateway_events_dropped_bad_signature_total"] == 3
