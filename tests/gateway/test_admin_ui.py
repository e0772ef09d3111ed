"""The Socket.IO Admin UI (gateway/admin.py): off by default, behind a login
when on, and in headless Chromium an operator sees the connected sockets and
their rooms. Screenshots land in test-artifacts/admin-ui-*.png."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys

import pytest
import requests
import socketio

from tests.gateway.conftest import ROOT
from tests.gateway.helpers import JS_DIR, Sock, run

PASSWORD = "operator-password-0123"


def test_off_by_default_the_page_and_the_namespace_are_not_there(module_gateway):
    assert requests.get(module_gateway.url + "/admin/", timeout=5).status_code == 404

    async def scenario():
        client = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(module_gateway.url, namespaces=["/admin"], auth={"username": "admin",
                                 "password": PASSWORD}, transports=["websocket"], wait_timeout=5)

    run(scenario())


def test_on_without_a_password_is_a_configuration_error(module_gateway):
    env = {**module_gateway.env, "GATEWAY_ADMIN_UI": "1", "GATEWAY_ADMIN_PASSWORD": ""}
    result = subprocess.run([sys.executable, "-m", "gateway"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "configuration error: GATEWAY_ADMIN_PASSWORD must be set" in result.stderr


def test_a_wrong_password_is_refused(gateways):
    gateway = gateways(GATEWAY_ADMIN_UI="1", GATEWAY_ADMIN_PASSWORD=PASSWORD)

    async def scenario():
        client = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(gateway.url, namespaces=["/admin"], auth={"username": "admin",
                                 "password": "guess-guess-guess"}, transports=["websocket"], wait_timeout=5)

    run(scenario())


def test_an_operator_sees_the_sockets_and_their_rooms_in_chromium(gateways, api, token):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed (scripts/system-deps installs it)")
    gateway = gateways(GATEWAY_ADMIN_UI="1", GATEWAY_ADMIN_PASSWORD=PASSWORD)
    conversation = api.group(1, [("mentor", 21), ("student", 31)], title="Watched")
    artifacts = os.path.join(ROOT, "test-artifacts")
    os.makedirs(artifacts, exist_ok=True)

    async def scenario():
        student = await Sock(gateway.url).connect(token("student", 31))
        sid = student.sio.get_sid("/")
        options = {"page": gateway.url + "/admin/", "server": gateway.url, "user": "admin", "password": PASSWORD,
                   "screenshotDir": artifacts, "chromium": chromium}
        result = await asyncio.to_thread(
            subprocess.run, ["node", "admin_ui_browser.js", json.dumps(options)], cwd=JS_DIR, capture_output=True,
            text=True, timeout=120)
        await student.close()
        return sid, result

    sid, result = run(scenario(), timeout=150)
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["ok"], (outcome, result.stderr)
    rooms = {row[0]: row for row in outcome["rooms"]}
    assert {"student:31", f"conversation:{conversation}"} <= set(rooms)
    assert sid in [row[0] for row in outcome["sockets"]]
    for shot in outcome["shots"]:
        assert os.path.getsize(shot) > 10_000
        print(f"screenshot: {shot}")
