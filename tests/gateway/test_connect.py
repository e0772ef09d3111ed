"""Connecting: the three ways to pass a token, every refusal code, expiry."""
from __future__ import annotations

import time

import pytest
import requests
import socketio

from tests.gateway.helpers import Sock, eventually, run
from tests.jwt_forge import claims as _claims
from tests.jwt_forge import hs as _hs
from tests.jwt_forge import unsigned as _unsigned

REFUSALS = [
    (None, "token_missing"),
    ("not-a-jwt", "token_malformed"),
    (_hs(_claims(), secret="another-secret-of-enough-length-0123456789"), "token_bad_signature"),
    (_unsigned(_claims()), "token_alg_none"),
    (_hs(_claims(), alg="HS512"), "token_alg_not_allowed"),
    (_hs(_claims(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)), "token_expired"),
    (_hs(_claims(nbf=int(time.time()) + 3600)), "token_not_yet_valid"),
    (_hs(_claims(exp=None)), "token_exp_missing"),
    (_hs(_claims(role=None)), "token_role_missing"),
    (_hs(_claims(role="janitor")), "token_role_unknown"),
    (_hs(_claims(sub="twelve")), "token_id_invalid"),
]


@pytest.fixture
def gateway(gateways):
    return gateways()


@pytest.mark.parametrize("bad_token,code", REFUSALS, ids=[code for _, code in REFUSALS])
def test_each_refusal_reaches_the_client_as_connect_error_with_its_code(module_gateway, bad_token, code):
    gateway = module_gateway

    async def scenario():
        client = Sock(gateway.url)
        auth = {"token": bad_token} if bad_token else None
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.sio.connect(gateway.url, auth=auth, transports=["websocket"], wait_timeout=5)
        await eventually(lambda: client.errors, what="connect_error")
        # python-socketio hands over the raw packet: {"message", "data": {"message", "code"}}
        assert client.errors[0]["data"]["code"] == code
        assert client.errors[0]["data"]["message"] == client.errors[0]["message"]

    run(scenario())


def test_a_bad_last_event_id_is_refused(module_gateway, token):
    gateway = module_gateway

    async def scenario():
        client = Sock(gateway.url)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(token("student", 1), last_event_id="yesterday")
        assert client.errors[0]["data"]["code"] == "bad_request"

    run(scenario())


@pytest.mark.parametrize("how", ["auth", "header", "query"])
def test_the_token_may_come_from_auth_header_or_query(gateway, token, how, api):
    async def scenario():
        client, jwt_ = Sock(gateway.url), token("student", 7)
        if how == "auth":
            await client.connect(jwt_)
        elif how == "header":
            await client.connect(headers={"Authorization": f"Bearer {jwt_}"})
        else:
            await client.connect(url=f"{gateway.url}?token={jwt_}")
        await api.a("publish", {"to": {"role": "student", "id": 7}}, "note:created", {"n": 1})
        await client.wait_for(lambda c: c.of("note:created"), what="an event in the personal room")
        await client.close()

    run(scenario())


def test_a_socket_is_disconnected_when_its_token_expires(gateway, token):
    async def scenario():
        client = Sock(gateway.url)
        # exp 2 s ahead; JWT_LEEWAY only widens verification, not the socket's life.
        await client.connect(token("mentor", 3, ttl=2))
        assert client.sio.connected
        await client.wait_for(lambda c: c.disconnects, timeout=10, what="disconnect at expiry")
        assert not client.sio.connected

    run(scenario())


def test_healthz_and_metrics(gateway, token):
    async def scenario():
        client = await Sock(gateway.url).connect(token("student", 4))
        metrics = gateway.metrics()
        assert metrics["gateway_sockets_connected"] == 1
        for name in ("events_relayed", "events_replayed", "events_dropped_bad_signature", "redis_reconnects"):
            assert f"gateway_{name}_total" in metrics
        await client.close()

    assert requests.get(gateway.url + "/healthz", timeout=5).json() == {"status": "ok"}
    run(scenario())
