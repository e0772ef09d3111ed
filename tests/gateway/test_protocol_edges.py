"""Protocol edges a strict client or proxy notices, with raw HTTP and
WebSocket requests and the official JS client (gateway/protocol.py)."""
from __future__ import annotations

import json
import os

import aiohttp
import pytest
import requests

from tests.gateway.helpers import JsClient, run

EIO = "/socket.io/?EIO=4"


def _handshake(url: str) -> dict:
    body = requests.get(url + EIO + "&transport=polling", timeout=5).text
    assert body.startswith("0")
    return json.loads(body[1:])


def test_a_sub_second_ping_interval_is_advertised_exactly(gateways):
    """By the fast queue; with GATEWAY_FAST_QUEUE=0, python-engineio's own
    value (whole seconds, truncated) is the documented fallback."""
    exact = os.environ.get("GATEWAY_FAST_QUEUE", "1") != "0"
    gateway = gateways(GATEWAY_PING_INTERVAL="0.5", GATEWAY_PING_TIMEOUT="2.5")
    opened = _handshake(gateway.url)
    assert (opened["pingInterval"], opened["pingTimeout"]) == (500 if exact else 0, 2500)

    async def over_websocket():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(gateway.url + EIO + "&transport=websocket") as ws:
                first = await ws.receive_str(timeout=5)
                assert first.startswith("0")
                return json.loads(first[1:])

    assert run(over_websocket())["pingInterval"] == (500 if exact else 0)


def test_whole_seconds_are_advertised_as_they_are(module_gateway):
    assert _handshake(module_gateway.url)["pingInterval"] == 25000


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_a_bad_method_is_400_bad_handshake_method(module_gateway, method):
    answer = requests.request(method, module_gateway.url + EIO + "&transport=polling", timeout=5)
    assert answer.status_code == 400
    assert answer.json() == {"code": 2, "message": "Bad handshake method"}


@pytest.mark.parametrize("query", ["&transport=carrier-pigeon", "", "&transport="])
def test_a_bad_or_missing_transport_is_400_transport_unknown(module_gateway, query):
    answer = requests.get(module_gateway.url + EIO + query, timeout=5)
    assert answer.status_code == 400
    assert answer.json() == {"code": 0, "message": "Transport unknown"}


def test_the_polling_post_answers_ok(module_gateway):
    sid = _handshake(module_gateway.url)["sid"]
    answer = requests.post(module_gateway.url + EIO + f"&transport=polling&sid={sid}", data="3", timeout=5)  # a pong
    assert (answer.status_code, answer.text) == (200, "ok")


def test_an_unknown_namespace_is_refused_with_a_message(module_gateway):
    sid = _handshake(module_gateway.url)["sid"]
    url = module_gateway.url + EIO + f"&transport=polling&sid={sid}"
    assert requests.post(url, data="40/nowhere,", timeout=5).text == "ok"
    assert requests.get(url, timeout=5).text == '44/nowhere,{"message":"Invalid namespace"}'


def test_the_official_client_reads_the_namespace_refusal_as_an_error_message(module_gateway, token):
    client = JsClient({"url": module_gateway.url + "/nowhere", "token": token("student", 5)})
    try:
        refused = client.wait(lambda item: item.get("event") == "connect_error")
        assert refused["message"] == "Invalid namespace"
    finally:
        client.close()
