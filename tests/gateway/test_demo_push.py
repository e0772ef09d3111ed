"""The demo page's service worker in headless Chromium: it registers, and a
push handed to it (as Chromium's push service would) shows a notification.
Real delivery needs a browser vendor's push service, unreachable here; the
sending side is tested end to end in tests/away/test_push_send.py."""
from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse

import pytest
import requests

from shared import vapid
from tests.gateway.helpers import JS_DIR


@pytest.fixture
def config(config, tmp_path):
    key = str(tmp_path / "vapid.pem")
    vapid.write_new(key)
    return config.replace(cors_origins=["*"], vapid_private_key_file=key, vapid_subject="mailto:ops@example.org")


def test_the_gateway_serves_the_service_worker_at_its_root(gateways):
    gateway = gateways(GATEWAY_DEMO="1")
    sw = requests.get(gateway.url + "/sw.js", timeout=10)
    assert sw.status_code == 200 and "javascript" in sw.headers["Content-Type"]
    assert 'addEventListener("push"' in sw.text


def test_the_service_worker_registers_and_shows_a_push(gateways, live_server, token):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed (scripts/system-deps installs it)")
    gateway = gateways(GATEWAY_DEMO="1")
    query = urllib.parse.urlencode({"token": token("student", 31), "api": f"{live_server}/api/v1"})
    push = {"id": 7, "type": "message", "tag": "conversation:3", "title": "New message from mentor 21",
            "body": "See you at <b>five</b>", "count": 2, "url": "/conversations/3"}
    options = {"url": f"{gateway.url}/?{query}", "chromium": chromium, "push": push}
    result = subprocess.run(["node", "demo_push.js", json.dumps(options)], cwd=JS_DIR, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["registration"] == {"scope": gateway.url + "/", "active": True, "script": gateway.url + "/sw.js"}
    print(f"push status in headless Chromium: {outcome['pushStatus']}")
    assert outcome["pushStatus"].startswith(("push on", "push unavailable")), outcome["pushStatus"]
    assert outcome["notifications"] == [{"title": "New message from mentor 21 (2)", "body": "See you at <b>five</b>",
                                         "tag": "conversation:3", "data": {"url": "/conversations/3"}}]
