"""The shipped nginx.conf in front of the API and two gateway processes.

nginx is real (scripts/system-deps installs it); the config is the repo's
own, with ports adapted by scripts/nginx-conf. Clients pick different
loopback source addresses (127.0.0.x) so `hash $remote_addr` spreads them.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time

import aiohttp
import pytest
import requests
import socketio

from tests.gateway.conftest import ROOT, free_port
from tests.gateway.helpers import JsClient, eventually, run

ADMIN = ("admin", 1)
MENTOR = ("mentor", 21)
STUDENT = ("student", 31)


class Nginx:
    def __init__(self, prefix, env: dict):
        self.prefix = prefix
        self.port = free_port()
        os.makedirs(prefix / "tmp", exist_ok=True)
        rendered = subprocess.run(
            [os.path.join(ROOT, "scripts", "nginx-conf")],
            env={**os.environ, **env, "NGINX_LISTEN": f"127.0.0.1:{self.port}"},
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(rendered)
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Nginx":
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(binary):
            pytest.fail("nginx is not installed (scripts/system-deps installs it)")
        self.proc = subprocess.Popen(
            [binary, "-p", str(self.prefix), "-c", str(self.conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode()}")
            try:
                requests.get(self.url + "/healthz-none", timeout=0.5)
                return self
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture
def stack(gateways, live_server, tmp_path):
    """nginx -> API (live_server) + two gateways; yields (nginx, [gateways])."""
    two = [gateways(), gateways()]
    api_port = live_server.rsplit(":", 1)[1]
    nginx = Nginx(tmp_path / "nginx", {
        "API_UPSTREAMS": f"127.0.0.1:{api_port}",
        "GATEWAY_UPSTREAMS": ",".join(f"127.0.0.1:{g.port}" for g in two),
    }).start()
    yield nginx, two
    nginx.stop()


def test_rest_goes_through_nginx(stack, token):
    nginx, _ = stack
    response = requests.get(nginx.url + "/api/v1/me", headers={"Authorization": f"Bearer {token(*STUDENT)}"},
                            timeout=10)
    assert response.json() == {"role": "student", "id": 31}
    assert response.headers["X-Request-ID"]  # nginx's $request_id, echoed by the API
    too_big = requests.post(nginx.url + "/api/v1/conversations", data="x" * 1_100_000,
                            headers={"Content-Type": "application/json"}, timeout=10)
    assert (too_big.status_code, too_big.json()["error"]["code"]) == (413, "payload_too_large")


def test_uploads_larger_than_the_json_limit_pass_nginx(stack, token):
    """POST /api/v1/attachments has the upload limit, not MAX_BODY_BYTES."""
    nginx, _ = stack
    headers = {"Authorization": f"Bearer {token(*STUDENT)}"}
    two_mb = requests.post(nginx.url + "/api/v1/attachments", files={"file": ("a.txt", b"x" * 2_000_000)},
                           headers=headers, timeout=30)
    assert two_mb.status_code == 201, two_mb.text
    too_big = requests.post(nginx.url + "/api/v1/attachments", files={"file": ("a.txt", b"x" * 10_600_000)},
                            headers=headers, timeout=30)
    assert (too_big.status_code, too_big.json()["error"]["code"]) == (413, "payload_too_large")


@pytest.mark.parametrize("path, headers, status, code", [
    ("/api/v1/" + "a" * 10_000, {}, 414, "uri_too_long"),
    ("/api/v1/me", {"X-Big": "b" * 10_000}, 431, "headers_too_large"),
], ids=["request line", "header"])
def test_nginx_refusals_use_the_error_shape(stack, path, headers, status, code):
    nginx, _ = stack
    response = requests.get(nginx.url + path, headers=headers, timeout=10)
    assert (response.status_code, response.headers["Content-Type"]) == (status, "application/json")
    assert response.json()["error"]["code"] == code


def test_js_client_starts_on_polling_and_upgrades_to_websocket(stack, token):
    nginx, _ = stack
    js = JsClient({"url": nginx.url, "token": token(*STUDENT), "transports": ["polling", "websocket"]})
    try:
        opened = js.wait(lambda e: e.get("event") == "open")
        assert opened["transport"] == "polling"
        js.wait(lambda e: e.get("event") == "connect")
        upgraded = js.wait(lambda e: e.get("event") == "upgrade")
        assert upgraded["transport"] == "websocket"
    finally:
        js.close()


async def _client_from(source: str, url: str, token: str, events: list):
    """A python-socketio client bound to a loopback source address."""
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(source, 0)))
    client = socketio.AsyncClient(reconnection=False, http_session=session)
    client.on("message:created", lambda data: events.append(data))
    await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    return client, session


def _connected(gateway) -> float:
    return gateway.metrics().get("gateway_sockets_connected", 0)


def test_clients_pinned_to_different_gateways_each_get_an_event_once(stack, api, token):
    nginx, (first, second) = stack
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        pinned, received, extra = {}, {}, []
        # Walk source addresses until one client sits on each gateway (bounded).
        for n in range(2, 40):
            if len(pinned) == 2:
                break
            before = (_connected(first), _connected(second))
            events: list = []
            client, session = await _client_from(f"127.0.0.{n}", nginx.url, token(*MENTOR), events)
            after = (_connected(first), _connected(second))
            where = 0 if after[0] > before[0] else 1
            if where in pinned:
                extra.append((client, session))
                continue
            pinned[where] = (client, session)
            received[where] = events
        assert len(pinned) == 2, "no source address reached the second gateway"
        sent = await api.a("send", STUDENT, cid, "through nginx")
        await eventually(lambda: all(received[k] for k in received), what="delivery on both gateways")
        await asyncio.sleep(0.5)  # room for a duplicate to show up
        for events in received.values():
            assert [e["data"]["id"] for e in events] == [sent["id"]]
        for client, session in [*pinned.values(), *extra]:
            await client.disconnect()
            await session.close()

    run(scenario(), timeout=90)
