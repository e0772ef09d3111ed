"""Coalesced notifications over real sockets: created, then updated, in each
recipient's personal room; nothing to a muted member but a mention."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from api.extensions import db
from shared.models import Participant
from shared.timeutil import utcnow
from tests.gateway.helpers import Sock, run

MENTOR, READER, MUTED = ("mentor", 41), ("student", 42), ("student", 43)


def _mute(app, conversation_id: int, who: tuple[str, int]) -> None:
    with app.app_context():
        db.session.execute(update(Participant).where(
            Participant.conversation_id == conversation_id, Participant.role == who[0],
            Participant.principal_id == who[1]).values(muted_until=utcnow() + dt.timedelta(hours=1)))
        db.session.commit()


def notifications(sock: Sock) -> list[tuple[str, dict]]:
    return [(name, data) for name, data in sock.events if name.startswith("notification:")]


def test_messages_coalesce_live_and_a_mention_reaches_a_muted_member(gateways, api, token, app):
    gateway = gateways()
    cid = api.group(1, [MENTOR, READER, MUTED])
    _mute(app, cid, MUTED)

    async def scenario():
        reader = await Sock(gateway.url).connect(token(*READER))
        muted = await Sock(gateway.url).connect(token(*MUTED))
        sender = await Sock(gateway.url).connect(token(*MENTOR))
        await api.a("send", MENTOR, cid, "first")
        await api.a("send", MENTOR, cid, "second")
        await reader.wait_for(lambda s: len(notifications(s)) == 2, what="two notification events")
        mention = await api.a("send", MENTOR, cid, "@student:43 over to you")
        # The mention is the sentinel: it comes after both plain messages in every room it is in.
        got = await muted.wait_for(lambda s: notifications(s), what="the mention")
        await reader.wait_for(lambda s: len(notifications(s)) == 3, what="the third notification event")
        await sender.wait_for(lambda s: len(s.of("message:created")) == 3, what="the third message")
        for sock in (reader, muted, sender):
            await sock.close()
        return reader, got, sender, mention

    reader, got, sender, mention = run(scenario())
    (created, first), (updated, second), (bumped, third) = notifications(reader)
    assert (created, updated, bumped) == ("notification:created", "notification:updated", "notification:updated")
    assert first["room"] == f"student:{READER[1]}" and first["data"]["id"] == second["data"]["id"]
    assert [e["data"]["count"] for e in (first, second, third)] == [1, 2, 3]
    assert third["data"]["body"] == "@student:43 over to you"
    assert [(name, e["data"]["type"], e["data"]["data"]["message_id"]) for name, e in got] == [
        ("notification:created", "mention", mention["id"])]
    assert got[0][1]["room"] == f"student:{MUTED[1]}"
    assert notifications(sender) == []
    # What the sockets saw is what REST lists.
    listed = api.call("GET", "/notifications", READER)["notifications"]
    assert listed == [third["data"]]
