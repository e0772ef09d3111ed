"""Typing and presence across two gateway processes sharing Redis."""
from __future__ import annotations

import asyncio
import signal

from tests.gateway.helpers import JsClient, Sock, run

MENTOR = ("mentor", 81)
STUDENT = ("student", 91)
STRANGER = ("student", 92)


def test_typing_reaches_the_others_on_another_gateway_and_expires(gateways, api, token):
    first, second = gateways(), gateways()
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        mentor = await Sock(first.url).connect(token(*MENTOR))
        student = await Sock(second.url).connect(token(*STUDENT))
        other_tab = await Sock(first.url).connect(token(*STUDENT))
        ack = await student.sio.call("typing", {"conversation_id": cid, "typing": True}, timeout=5)
        assert ack == {"ok": True}
        got = await mentor.wait_for(lambda c: c.of("typing"), what="typing true")
        assert got[0] == {"conversation_id": cid, "principal": {"role": "student", "id": 91}, "typing": True}
        # Not back to the sender, nor to its other tab on the other gateway.
        # GATEWAY_TYPING_EXPIRY=1: a typing: false follows by itself.
        await mentor.wait_for(lambda c: len(c.of("typing")) == 2, timeout=5, what="expiry")
        assert mentor.of("typing")[1]["typing"] is False
        assert student.of("typing") == [] and other_tab.of("typing") == []
        bad = await student.sio.call("typing", {"conversation_id": cid, "typing": "yes"}, timeout=5)
        assert bad["error"] == "bad_request"
        for client in (mentor, student, other_tab):
            await client.close()

    run(scenario())


def test_typing_is_rate_limited_per_socket(gateways, api, token):
    gateway = gateways(GATEWAY_TYPING_RATE=3)
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        student = await Sock(gateway.url).connect(token(*STUDENT))
        acks = [await student.sio.call("typing", {"conversation_id": cid, "typing": n % 2 == 0}, timeout=5)
                for n in range(10)]
        assert {"ok": False, "error": "rate_limited"} in acks
        assert acks[:3] == [{"ok": True}] * 3
        await student.close()

    run(scenario())
    assert gateway.metrics()["gateway_typing_rate_limited_total"] >= 1


def test_presence_across_gateways_with_a_grace_period(gateways, api, token):
    first, second = gateways(), gateways()
    api.group(1, [MENTOR, STUDENT])

    async def scenario():
        mentor = await Sock(first.url).connect(token(*MENTOR))
        student = await Sock(second.url).connect(token(*STUDENT))
        online = await mentor.wait_for(lambda c: c.of("presence"), what="student online")
        assert online[0]["principal"] == {"role": "student", "id": 91} and online[0]["online"] is True

        answer = await mentor.sio.call(
            "presence:query", {"principals": [{"role": "student", "id": 91}, {"role": "student", "id": 92}]},
            timeout=5,
        )
        assert answer["ok"] is True
        assert [(p["principal"]["id"], p["online"]) for p in answer["principals"]] == [(91, True)]

        # A second tab on the first gateway, then the first tab closes: still online.
        tab = await Sock(first.url).connect(token(*STUDENT))
        await student.close()
        await asyncio.sleep(1.0)  # past GATEWAY_PRESENCE_GRACE=0.5
        assert len(mentor.of("presence")) == 1
        await tab.close()
        await mentor.wait_for(lambda c: len(c.of("presence")) == 2, what="student offline")
        offline = mentor.of("presence")
        assert offline[1]["online"] is False and offline[1]["last_seen"].endswith("Z")

        stranger = await Sock(second.url).connect(token(*STRANGER))
        answer = await stranger.sio.call("presence:query", {"principals": [{"role": "mentor", "id": 81}]}, timeout=5)
        assert answer == {"ok": True, "principals": []}
        for client in (mentor, stranger):
            await client.close()

    run(scenario())


def test_a_reload_within_the_grace_period_does_not_flap(gateways, api, token):
    gateway = gateways(GATEWAY_PRESENCE_GRACE=2)
    api.group(1, [MENTOR, STUDENT])

    async def scenario():
        mentor = await Sock(gateway.url).connect(token(*MENTOR))
        student = await Sock(gateway.url).connect(token(*STUDENT))
        await mentor.wait_for(lambda c: c.of("presence"), what="online")
        await student.close()
        student = await Sock(gateway.url).connect(token(*STUDENT))
        await asyncio.sleep(2.5)
        assert [p["online"] for p in mentor.of("presence")] == [True]
        await student.close()
        await mentor.close()

    run(scenario())


def test_sigterm_closes_transports_so_clients_reconnect_elsewhere(gateways, token):
    gateway = gateways()
    js = JsClient({"url": gateway.url, "token": token(*STUDENT)})
    try:
        js.wait(lambda e: e.get("event") == "connect")

        async def scenario():
            client = await Sock(gateway.url).connect(token(*STUDENT))
            gateway.proc.send_signal(signal.SIGTERM)
            await client.wait_for(lambda c: c.disconnects, timeout=10, what="disconnect")
            return client.disconnects[0]

        # A dropped transport (clients reconnect by themselves), never a
        # Socket.IO server disconnect ("io server disconnect"), which is final.
        assert run(scenario()) in ("transport close", "transport error")
        gone = js.wait(lambda e: e.get("event") == "disconnect")
        assert gone["reason"] in ("transport close", "transport error")
    finally:
        js.close()
    assert gateway.proc.wait(timeout=10) == 0
