"""Reactions and settings live on real sockets: the student reacts and the mentor
sees it; settings changes reach only the caller's own sockets."""
from __future__ import annotations

from tests.gateway.helpers import Sock, run

MENTOR, STUDENT = ("mentor", 41), ("student", 42)
THUMBS = "%F0%9F%91%8D"


def test_the_student_reacts_and_the_mentor_sees_it_live(gateways, api, token):
    gateway = gateways()
    cid = api.group(1, [MENTOR, STUDENT])
    mid = api.send(MENTOR, cid, "well done")["id"]

    async def scenario():
        mentor = await Sock(gateway.url).connect(token(*MENTOR))
        await api.a("call", "PUT", f"/messages/{mid}/reactions/{THUMBS}", STUDENT, expect=201)
        added = await mentor.wait_for(lambda s: s.of("reaction:added"), what="reaction:added")
        assert added[0]["room"] == f"conversation:{cid}"
        assert added[0]["data"] == {"message_id": mid, "conversation_id": cid, "emoji": "👍", "count": 1,
                                    "principal": {"role": "student", "id": 42}}
        await api.a("call", "DELETE", f"/messages/{mid}/reactions/{THUMBS}", STUDENT, expect=200)
        removed = await mentor.wait_for(lambda s: s.of("reaction:removed"), what="reaction:removed")
        assert removed[0]["data"]["count"] == 0 and removed[0]["seq"] == added[0]["seq"] + 1
        await mentor.close()

    run(scenario())


def test_settings_reach_the_callers_sockets_only(gateways, api, token):
    gateway = gateways()
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        mentor = await Sock(gateway.url).connect(token(*MENTOR))
        student = await Sock(gateway.url).connect(token(*STUDENT))
        body = {"archived": True, "muted_until": "2999-01-01T00:00:00+02:00"}
        await api.a("call", "PATCH", f"/conversations/{cid}/settings", STUDENT, body, expect=200)
        updated = await student.wait_for(lambda s: s.of("conversation:updated"), what="conversation:updated")
        assert updated[0]["room"] == "student:42"
        assert updated[0]["data"] == {"conversation_id": cid, "archived": True, "pinned": False,
                                      "muted_until": "2998-12-31T22:00:00.000Z"}
        # A later message is the sentinel: by the time the mentor has it, any settings event would have come.
        await api.a("send", STUDENT, cid, "sentinel")
        await mentor.wait_for(lambda s: s.of("message:created"), what="the sentinel")
        assert mentor.of("conversation:updated") == []
        await mentor.close()
        await student.close()

    run(scenario())
