"""Nothing is lost across reconnects: replay on connect and on `sync`, resync past the cap."""
from __future__ import annotations

import asyncio

from tests.gateway.helpers import JsClient, Sock, run

MENTOR = ("mentor", 41)
STUDENT = ("student", 51)


async def _seen_then_away(gateway, api, token, cid: int) -> int:
    """The student sees one message live, then disconnects: the last event id it saw."""
    student = await Sock(gateway.url).connect(token(*STUDENT))
    await api.a("send", MENTOR, cid, "seen")
    await student.wait_for(lambda c: c.bodies() == ["seen"], what="the first message")
    await student.close()
    return student.ids()[-1]


def test_replay_after_disconnect_comes_first_and_in_order(gateways, api, token):
    gateway = gateways()
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        last_seen = await _seen_then_away(gateway, api, token, cid)
        for n in range(5):
            await api.a("send", MENTOR, cid, f"missed {n}")

        back = Sock(gateway.url)
        sending = asyncio.ensure_future(api.a("send", MENTOR, cid, "live"))
        await back.connect(token(*STUDENT), last_event_id=last_seen)
        await sending
        want = [f"missed {n}" for n in range(5)] + ["live"]
        await back.wait_for(lambda c: len(c.bodies()) >= 6, what="replay + live")
        await asyncio.sleep(0.5)
        assert back.bodies() == want
        assert back.ids() == sorted(back.ids()) and len(set(back.ids())) == len(back.ids())
        assert all(i > last_seen for i in back.ids())
        await back.close()

    run(scenario())
    assert gateway.metrics()["gateway_events_replayed_total"] >= 5


def test_sync_replays_with_an_ack(gateways, api, token):
    gateway = gateways()
    cid = api.group(1, [MENTOR, STUDENT])
    first = api.send(MENTOR, cid, "one")
    api.send(MENTOR, cid, "two")

    async def scenario():
        student = await Sock(gateway.url).connect(token(*STUDENT))
        ack = await student.sio.call("sync", {"last_event_id": 0}, timeout=10)
        assert ack["ok"] is True and ack["resync"] is False and ack["replayed"] >= 2
        assert student.bodies() == ["one", "two"]
        assert student.of("message:created")[0]["data"]["id"] == first["id"]
        bad = await student.sio.call("sync", {"last_event_id": -3}, timeout=10)
        assert bad["ok"] is False and bad["error"] == "bad_request"
        await student.close()

    run(scenario())


def test_beyond_the_cap_the_client_is_told_to_resync_over_rest(gateways, api, token):
    gateway = gateways(GATEWAY_REPLAY_CAP=3)
    cid = api.group(1, [MENTOR, STUDENT])
    for n in range(5):
        api.send(MENTOR, cid, f"m{n}")

    async def scenario():
        student = await Sock(gateway.url).connect(token(*STUDENT), last_event_id=0)
        resync = await student.wait_for(lambda c: c.of("resync"), what="resync")
        assert resync == [{"after": 0}]
        assert student.bodies() == []
        await student.close()

    run(scenario())
    # ... and the REST resync pages through the same events.
    page = api.call("GET", "/events?after=0&limit=100", STUDENT, expect=200)
    bodies = [e["data"]["body"] for e in page["events"] if e["type"] == "message:created"]
    assert bodies == [f"m{n}" for n in range(5)] and page["more"] is False


def test_js_client_replays_with_last_event_id(gateways, api, token):
    gateway = gateways()
    cid = api.group(1, [MENTOR, STUDENT])
    api.send(MENTOR, cid, "old")
    mark = api.call("GET", "/events?after=0", STUDENT, expect=200)["last_event_id"]
    api.send(MENTOR, cid, "new")
    js = JsClient({"url": gateway.url, "token": token(*STUDENT), "last_event_id": mark})
    try:
        got = js.wait(lambda e: e.get("event") == "message:created")
        assert got["payload"]["data"]["body"] == "new"
    finally:
        js.close()


def test_replay_after_an_edit_and_a_delete_serves_no_old_text(gateways, api, token):
    """A client that was away while a message was edited, and another deleted,
    replays both messages' events with the current text only."""
    gateway = gateways()
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        last_seen = await _seen_then_away(gateway, api, token, cid)
        edited = await api.a("send", MENTOR, cid, "draft with a typo")
        deleted = await api.a("send", MENTOR, cid, "private zebra text")
        await api.a("call", "PATCH", f"/messages/{edited['id']}", MENTOR, {"body": "clean copy"}, 200)
        await api.a("call", "DELETE", f"/messages/{deleted['id']}", MENTOR, None, 200)

        back = await Sock(gateway.url).connect(token(*STUDENT), last_event_id=last_seen)
        await back.wait_for(lambda c: len(c.of("message:deleted")) == 1, what="the replayed delete")
        replayed = [data for name, data in back.events if name.startswith("message:")]
        assert [(e["type"], e["data"]["id"]) for e in replayed] == [
            ("message:created", edited["id"]), ("message:created", deleted["id"]),
            ("message:updated", edited["id"]), ("message:deleted", deleted["id"]),
        ]
        assert back.bodies() == ["clean copy", None]
        text = repr(back.events)
        assert "typo" not in text and "zebra" not in text
        await back.close()

    run(scenario())
