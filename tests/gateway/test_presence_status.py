"""Presence statuses: online, away, dnd, idle away, combined over tabs and gateways."""
from __future__ import annotations

import asyncio
import time

import pytest
import socketio

from tests.gateway.helpers import JsClient, Sock, run, until_live

MENTOR = ("mentor", 83)
STUDENT = ("student", 93)
STUDENT_P = {"role": "student", "id": 93}


def statuses(sock: Sock, who: dict = STUDENT_P) -> list[str]:
    return [e["status"] for e in sock.of("presence") if e["principal"] == who]


async def set_status(sock: Sock, status) -> dict:
    return await sock.sio.call("presence:set", {"status": status}, timeout=5)


def test_dnd_wins_then_online_then_away_across_gateways(gateways, api, token):
    first, second = gateways(), gateways()
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        mentor = await Sock(first.url).connect(token(*MENTOR))
        await until_live(mentor, api, MENTOR, cid)
        tab_a = await Sock(first.url).connect(token(*STUDENT))
        tab_b = await Sock(second.url).connect(token(*STUDENT))
        await mentor.wait_for(lambda c: statuses(c) == ["online"], what="student online")

        assert await set_status(tab_b, "dnd") == {"ok": True, "status": "dnd"}
        await mentor.wait_for(lambda c: len(statuses(c)) == 2, what="dnd")
        event = mentor.of("presence")[-1]
        assert event["online"] is True and event["status"] == "dnd" and event["last_seen"].endswith("Z")

        # Away in one tab while the other is dnd: still dnd, so no event...
        assert await set_status(tab_a, "away") == {"ok": True, "status": "dnd"}
        # ...as the next change shows: online (tab b) beats away (tab a).
        assert await set_status(tab_b, "online") == {"ok": True, "status": "online"}
        await mentor.wait_for(lambda c: len(statuses(c)) == 3, what="online again")
        assert statuses(mentor) == ["online", "dnd", "online"]

        assert (await set_status(tab_b, "away"))["ok"] is True
        await mentor.wait_for(lambda c: len(statuses(c)) == 4, what="away")
        # Tab b closing leaves tab a away: no change; the last one closing is offline.
        await tab_b.close()
        await asyncio.sleep(1.0)  # past GATEWAY_PRESENCE_GRACE=0.5
        await tab_a.close()
        await mentor.wait_for(lambda c: len(statuses(c)) == 5, what="offline")
        assert statuses(mentor) == ["online", "dnd", "online", "away", "offline"]
        assert mentor.of("presence")[-1]["online"] is False
        await mentor.close()

    run(scenario())


def test_an_idle_socket_is_away_until_its_next_event(gateways, api, token):
    gateway = gateways(PRESENCE_AWAY_AFTER=1)
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        mentor = await Sock(gateway.url).connect(token(*MENTOR))
        await until_live(mentor, api, MENTOR, cid)
        student = await Sock(gateway.url).connect(token(*STUDENT))
        await mentor.wait_for(lambda c: statuses(c)[:1] == ["online"], what="online")
        await mentor.wait_for(lambda c: statuses(c)[:2] == ["online", "away"], what="away after 1 s idle")
        online, away = mentor.of("presence")[:2]
        assert away["online"] is True
        # Nothing happened in between: last_seen is still the connect.
        assert away["last_seen"] == online["last_seen"]

        await student.sio.call("typing", {"conversation_id": cid, "typing": True}, timeout=5)
        await mentor.wait_for(lambda c: statuses(c)[:3] == ["online", "away", "online"], what="back online")
        assert mentor.of("presence")[2]["last_seen"] > online["last_seen"]
        for client in (mentor, student):
            await client.close()

    run(scenario())


def test_activity_on_one_gateway_keeps_an_idle_tab_on_another_online(gateways, api, token):
    first, second = gateways(PRESENCE_AWAY_AFTER=1), gateways(PRESENCE_AWAY_AFTER=1)
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        mentor = await Sock(first.url).connect(token(*MENTOR))
        await until_live(mentor, api, MENTOR, cid)
        idle = await Sock(first.url).connect(token(*STUDENT))
        busy = await Sock(second.url).connect(token(*STUDENT))
        await mentor.wait_for(lambda c: statuses(c) == ["online"], what="online")
        # The idle tab passes PRESENCE_AWAY_AFTER twice over while the other keeps talking.
        until = time.monotonic() + 2.5
        while time.monotonic() < until:
            await busy.sio.call("presence:query", {"principals": []}, timeout=5)
            await asyncio.sleep(0.2)
        assert statuses(mentor) == ["online"]
        await mentor.wait_for(lambda c: statuses(c) == ["online", "away"], what="away once both idle")
        for client in (mentor, idle, busy):
            await client.close()

    run(scenario())


def test_query_and_connect_carry_status_and_last_seen(gateways, api, token):
    gateway = gateways()
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        mentor = await Sock(gateway.url).connect(token(*MENTOR))
        await until_live(mentor, api, MENTOR, cid)
        student = Sock(gateway.url)
        # A page that reloads can come back as it left.
        await student.sio.connect(gateway.url, auth={"token": token(*STUDENT), "status": "dnd"},
                                  transports=["websocket"], wait_timeout=10)
        await mentor.wait_for(lambda c: statuses(c) == ["dnd"], what="dnd at connect")

        answer = await mentor.sio.call("presence:query", {"principals": [STUDENT_P]}, timeout=5)
        assert answer["ok"] is True
        [entry] = answer["principals"]
        assert (entry["principal"], entry["online"], entry["status"]) == (STUDENT_P, True, "dnd")
        assert entry["last_seen"] == mentor.of("presence")[0]["last_seen"]

        await student.close()
        await mentor.wait_for(lambda c: statuses(c) == ["dnd", "offline"], what="offline")
        answer = await mentor.sio.call("presence:query", {"principals": [STUDENT_P]}, timeout=5)
        [entry] = answer["principals"]
        assert (entry["online"], entry["status"]) == (False, "offline")
        assert entry["last_seen"] == mentor.of("presence")[1]["last_seen"]
        await mentor.close()

    run(scenario())


@pytest.mark.parametrize("data", [{"status": "busy"}, {"status": ["dnd"]}, {"status": None}, {}, "dnd", None,
                                  {"status": "DND"}, {"status": "dnd\u0000"}])
def test_a_bad_status_is_answered_with_bad_request(module_gateway, token, data):
    async def scenario():
        client = await Sock(module_gateway.url).connect(token(*STUDENT))
        ack = await client.sio.call("presence:set", data, timeout=5)
        assert ack == {"ok": False, "error": "bad_request", "message": "status: one of online, away, dnd"}
        assert client.sio.connected
        await client.close()

    run(scenario())


def test_presence_set_shares_the_typing_rate_limit(module_gateway, token):
    async def scenario():
        client = await Sock(module_gateway.url).connect(token(*STUDENT))
        acks = [await set_status(client, ("dnd", "online")[n % 2]) for n in range(12)]
        assert acks[0] == {"ok": True, "status": "dnd"}
        assert {"ok": False, "error": "rate_limited"} in acks
        await client.close()

    run(scenario())


def test_a_bad_status_at_connect_is_refused(module_gateway, token):
    async def scenario():
        client = Sock(module_gateway.url)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.sio.connect(module_gateway.url, auth={"token": token(*STUDENT), "status": "asleep"},
                                     transports=["websocket"], wait_timeout=5)
        assert client.errors[0]["data"]["code"] == "bad_request"

    run(scenario())


def test_the_official_js_client_sets_a_status(gateways, api, token):
    gateway = gateways()
    cid = api.group(1, [MENTOR, STUDENT])
    js = JsClient({"url": gateway.url, "token": token(*STUDENT)})
    try:
        js.wait(lambda e: e.get("event") == "connect")

        async def scenario():
            mentor = await Sock(gateway.url).connect(token(*MENTOR))
            await until_live(mentor, api, MENTOR, cid)
            js.emit("presence:set", {"status": "dnd"})
            await mentor.wait_for(lambda c: "dnd" in statuses(c), what="dnd from the JS client")
            await mentor.close()

        run(scenario())
        assert js.wait(lambda e: e.get("ack") == "presence:set")["data"] == {"ok": True, "status": "dnd"}
        js.emit("presence:set", {"status": "sleeping"})
        refused = js.wait(lambda e: e.get("ack") == "presence:set" and not e["data"]["ok"])
        assert refused["data"]["error"] == "bad_request"
    finally:
        js.close()
