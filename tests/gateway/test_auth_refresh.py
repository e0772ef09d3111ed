"""`auth:refresh`: a later token of the same principal keeps a socket past its first token's expiry."""
from __future__ import annotations

import asyncio
import time

import pytest

from tests.gateway.helpers import JsClient, Sock, run
from tests.jwt_forge import claims as _claims
from tests.jwt_forge import hs as _hs

STUDENT = ("student", 95)


@pytest.fixture
def gateway(gateways):
    return gateways()


def test_a_fresh_token_extends_the_socket_past_the_old_expiry(gateway, api, token):
    async def scenario():
        client = await Sock(gateway.url).connect(token(*STUDENT, ttl=2))
        ack = await client.sio.call("auth:refresh", {"token": token(*STUDENT, ttl=3600)}, timeout=5)
        assert ack["ok"] is True and ack["exp"] >= time.time() + 3500
        await asyncio.sleep(3)  # past the first token's exp
        await api.a("publish", {"to": {"role": "student", "id": 95}}, "note:created", {"n": 1})
        await client.wait_for(lambda c: c.of("note:created"), what="an event after the old expiry")
        assert client.sio.connected and client.disconnects == []

        # A shorter token never shortens the socket's life.
        ack = await client.sio.call("auth:refresh", {"token": token(*STUDENT, ttl=60)}, timeout=5)
        assert ack["ok"] is True and ack["exp"] >= time.time() + 3500
        await client.close()

    run(scenario())


REFUSED = [
    ({"token": "not-a-jwt"}, "token_malformed"),
    ({"token": _hs(_claims(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200))}, "token_expired"),
    ({"token": _hs(_claims(), secret="another-secret-of-enough-length-0123456789")}, "token_bad_signature"),
    ({}, "token_missing"),
    (None, "token_missing"),
    ({"token": 12}, "bad_request"),
]


def test_refusals_leave_the_old_expiry(gateway, token):
    async def scenario():
        client = await Sock(gateway.url).connect(token(*STUDENT, ttl=3))
        # Someone else's token: refused even though it is valid.
        other = await client.sio.call("auth:refresh", {"token": token("student", 96, ttl=3600)}, timeout=5)
        assert other["ok"] is False and other["error"] == "token_principal_mismatch"
        for data, code in REFUSED:
            ack = await client.sio.call("auth:refresh", data, timeout=5)
            assert (ack["ok"], ack["error"]) == (False, code), data
            assert isinstance(ack["message"], str)
        assert client.sio.connected
        await client.wait_for(lambda c: c.disconnects, timeout=10, what="disconnect at the old expiry")

    run(scenario())


def test_the_official_js_client_refreshes(gateway, api, token):
    js = JsClient({"url": gateway.url, "token": token(*STUDENT, ttl=2)})
    try:
        js.wait(lambda e: e.get("event") == "connect")
        js.emit("auth:refresh", {"token": token(*STUDENT, ttl=3600)})
        assert js.wait(lambda e: e.get("ack") == "auth:refresh")["data"]["ok"] is True
        time.sleep(3)  # past the first token's exp
        api.publish({"to": {"role": "student", "id": 95}}, "note:created", {"n": 2})
        js.wait(lambda e: e.get("event") == "note:created")
        assert not [e for e in js.seen if e.get("event") == "disconnect"]
    finally:
        js.close()
