"""Presence statuses and per-principal typing on one gateway without Redis (memory store)."""
from __future__ import annotations

import asyncio

import pytest

from tests.gateway.helpers import Sock, run

MENTOR = ("mentor", 85)
STUDENT = ("student", 97)
STUDENT_P = {"role": "student", "id": 97}


@pytest.fixture
def redis_url():
    return None


def statuses(sock: Sock) -> list[str]:
    return [e["status"] for e in sock.of("presence") if e["principal"] == STUDENT_P]


def test_statuses_last_seen_and_typing_in_memory(gateways, api, token):
    gateway = gateways(PRESENCE_AWAY_AFTER=1, GATEWAY_TYPING_EXPIRY=30)
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        mentor = await Sock(gateway.url).connect(token(*MENTOR))
        tab_a = await Sock(gateway.url).connect(token(*STUDENT))
        tab_b = await Sock(gateway.url).connect(token(*STUDENT))
        await mentor.wait_for(lambda c: statuses(c) == ["online"], what="online")
        assert await tab_a.sio.call("presence:set", {"status": "dnd"}, timeout=5) == {"ok": True, "status": "dnd"}
        await mentor.wait_for(lambda c: statuses(c) == ["online", "dnd"], what="dnd")

        for tab in (tab_a, tab_b):
            await tab.sio.call("typing", {"conversation_id": cid, "typing": True}, timeout=5)
        await tab_a.sio.call("typing", {"conversation_id": cid, "typing": False}, timeout=5)
        await tab_b.sio.call("typing", {"conversation_id": cid, "typing": False}, timeout=5)
        await mentor.wait_for(lambda c: len(c.of("typing")) == 2, what="typing false")
        assert [e["typing"] for e in mentor.of("typing")] == [True, False]

        # dnd is not given up for being idle; the dnd tab leaving leaves the idle one: away.
        await asyncio.sleep(1.2)  # tab b idle past PRESENCE_AWAY_AFTER
        await tab_a.close()
        await mentor.wait_for(lambda c: statuses(c) == ["online", "dnd", "away"], what="away")
        answer = await mentor.sio.call("presence:query", {"principals": [STUDENT_P]}, timeout=5)
        assert answer["principals"][0]["status"] == "away"
        assert answer["principals"][0]["last_seen"] == mentor.of("presence")[-1]["last_seen"]
        for client in (mentor, tab_b):
            await client.close()

    run(scenario())
