"""Typing per principal: two tabs of one person, on two gateways, do not cancel each other."""
from __future__ import annotations

from tests.gateway.helpers import Sock, run

MENTOR = ("mentor", 84)
STUDENT = ("student", 94)


def flags(sock: Sock) -> list[bool]:
    return [e["typing"] for e in sock.of("typing")]


async def typing(sock: Sock, cid: int, value: bool) -> None:
    assert await sock.sio.call("typing", {"conversation_id": cid, "typing": value}, timeout=5) == {"ok": True}


def test_one_tab_stopping_does_not_cancel_the_other(gateways, api, token):
    first, second = gateways(GATEWAY_TYPING_EXPIRY=30), gateways(GATEWAY_TYPING_EXPIRY=30)
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        mentor = await Sock(first.url).connect(token(*MENTOR))
        tab_a = await Sock(first.url).connect(token(*STUDENT))
        tab_b = await Sock(second.url).connect(token(*STUDENT))
        await typing(tab_a, cid, True)
        await mentor.wait_for(lambda c: flags(c) == [True], what="typing")
        await typing(tab_b, cid, True)
        await typing(tab_a, cid, False)
        await typing(tab_a, cid, False)  # a stop from a tab that is not typing changes nothing
        # The last tab to stop ends it: the only false the mentor gets.
        await typing(tab_b, cid, False)
        await mentor.wait_for(lambda c: len(flags(c)) == 2, what="typing false")
        assert flags(mentor) == [True, False]
        assert mentor.of("typing")[1] == {"conversation_id": cid, "principal": {"role": "student", "id": 94},
                                          "typing": False}

        # A typing tab closing while another types: still typing until that one stops.
        await typing(tab_a, cid, True)
        await mentor.wait_for(lambda c: len(flags(c)) == 3, what="typing again")
        await typing(tab_b, cid, True)
        await tab_a.close()
        await typing(tab_b, cid, False)
        await mentor.wait_for(lambda c: len(flags(c)) == 4, what="typing false again")
        assert flags(mentor) == [True, False, True, False]
        assert tab_b.of("typing") == []
        for client in (mentor, tab_b):
            await client.close()

    run(scenario())


def test_a_tab_on_a_gateway_that_died_stops_typing_after_twice_the_expiry(gateways, api, token):
    first, second = gateways(), gateways()  # GATEWAY_TYPING_EXPIRY=1
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        mentor = await Sock(first.url).connect(token(*MENTOR))
        tab = await Sock(second.url).connect(token(*STUDENT))
        await typing(tab, cid, True)
        await mentor.wait_for(lambda c: flags(c) == [True], what="typing")
        second.proc.kill()  # no false from it, ever
        await mentor.wait_for(lambda c: flags(c) == [True, False], timeout=10, what="given up on")

        await mentor.close()

    run(scenario())
