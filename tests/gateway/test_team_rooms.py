"""A team conversation follows the roster a service sends, live on real sockets."""
from __future__ import annotations

import asyncio

from tests.gateway.helpers import Sock, run

SERVICE = ("service", 1)
S1, S2, S3 = ("student", 41), ("student", 42), ("student", 43)


def roster(api, *who, team_id=7) -> dict:
    body = {"members": [{"role": role, "id": pid} for role, pid in who]}
    return api.call("PUT", f"/teams/{team_id}/members", SERVICE, body, expect=200)


def test_members_added_join_live_and_removed_ones_stop_receiving(gateways, api, token):
    gateway = gateways()

    async def scenario():
        s1 = await Sock(gateway.url).connect(token(*S1))
        s2 = await Sock(gateway.url).connect(token(*S2))
        try:
            (cid,) = (await asyncio.to_thread(roster, api, S1))["conversation_ids"]
            await s1.wait_for(lambda c: c.of("conversation:created"), what="the team conversation")
            await api.a("send", S1, cid, "hello team")
            await s1.wait_for(lambda c: "hello team" in c.bodies(), what="s1's own message")
            # S2 joins the team: their socket is in the room without reconnecting.
            await asyncio.to_thread(roster, api, S1, S2)
            await s2.wait_for(lambda c: c.of("participant:added"), what="participant:added")
            await api.a("send", S1, cid, "welcome")
            await s2.wait_for(lambda c: "welcome" in c.bodies(), what="the message after joining")
            # S2 leaves the team: nothing more of the room reaches them.
            await asyncio.to_thread(roster, api, S1)
            await s2.wait_for(lambda c: c.of("participant:removed"), what="participant:removed")
            await api.a("send", S1, cid, "after you left")
            await s1.wait_for(lambda c: "after you left" in c.bodies(), what="the member still gets it")
            await api.a("publish", {"to": {"role": "student", "id": 42}}, "test:sentinel", {})
            await s2.wait_for(lambda c: c.of("test:sentinel"), what="the sentinel")
            assert s2.bodies() == ["welcome"]
        finally:
            await s1.close()
            await s2.close()

    run(scenario())


def test_a_new_thread_of_the_team_is_joined_live(gateways, api, token):
    gateway = gateways()
    roster(api, S1, S3)

    async def scenario():
        s3 = await Sock(gateway.url).connect(token(*S3))
        try:
            body = {"type": "team", "team_id": 7, "context": {"kind": "exercise", "id": 12}}
            thread = await api.a("call", "POST", "/conversations", S1, body, 201)
            await s3.wait_for(lambda c: [e for e in c.of("conversation:created") if e["data"]["id"] == thread["id"]],
                              what="the thread's conversation:created")
            await api.a("send", S1, thread["id"], "about exercise 12")
            await s3.wait_for(lambda c: "about exercise 12" in c.bodies(), what="the thread's message")
        finally:
            await s3.close()

    run(scenario())


def test_a_broadcast_recipient_is_not_in_its_room(gateways, api, token):
    gateway = gateways()
    roster(api, S1, S2)  # makes them known principals (the broadcast's audience)
    sent = api.call("POST", "/broadcasts", ("admin", 1),
                    {"audience": "students", "title": "t", "body": "b"}, expect=201)

    async def scenario():
        s1 = await Sock(gateway.url).connect(token(*S1))
        try:
            ack = await s1.sio.call("typing", {"conversation_id": sent["conversation_id"], "typing": True}, timeout=5)
            assert ack == {"ok": False, "error": "not_participant"}
        finally:
            await s1.close()

    run(scenario())
