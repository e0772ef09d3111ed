"""The demo page in headless Chromium: a mentor and a student chat live.

Screenshots land in `test-artifacts/` (their paths are printed) so a person
can look at what the page shows.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse

import pytest
import requests

from tests.gateway.conftest import ROOT
from tests.gateway.helpers import JS_DIR

MENTOR = ("mentor", 21)
STUDENT = ("student", 31)
ARTIFACTS = os.path.join(ROOT, "test-artifacts")


@pytest.fixture
def config(config):
    """The page calls the API from the gateway's origin: allow it."""
    return config.replace(cors_origins=["*"])


def page_url(gateway, live_server, token) -> str:
    query = urllib.parse.urlencode({"token": token, "api": f"{live_server}/api/v1", "autoconnect": "1"})
    return f"{gateway.url}/?{query}"


def test_the_gateway_serves_the_demo_page_and_the_client(gateways):
    gateway = gateways(GATEWAY_DEMO="1")
    page = requests.get(gateway.url + "/", timeout=10)
    assert page.status_code == 200 and '<script type="module" src="demo.js">' in page.text
    demo = requests.get(gateway.url + "/demo.js", timeout=10)
    assert demo.status_code == 200 and 'from "./client/realtime.js"' in demo.text
    off = gateways(GATEWAY_DEMO="0")
    assert requests.get(off.url + "/", timeout=10).status_code == 404


def test_two_browser_pages_exchange_a_message(gateways, api, live_server, token):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed (scripts/system-deps installs it)")
    gateway = gateways(GATEWAY_DEMO="1")
    api.group(1, [MENTOR, STUDENT], title="Demo chat")
    os.makedirs(ARTIFACTS, exist_ok=True)
    options = {
        "mentorUrl": page_url(gateway, live_server, token(*MENTOR)),
        "studentUrl": page_url(gateway, live_server, token(*STUDENT)),
        "screenshotDir": ARTIFACTS,
        "text": "Hello from the mentor <b>not bold</b>",
        "reply": "Hi! Got it.",
        "chromium": chromium,
    }
    result = subprocess.run(
        ["node", "demo_browser.js", json.dumps(options)], cwd=JS_DIR, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["ok"], outcome
    # Bodies render as text: the markup shows literally, it is not interpreted.
    assert outcome["studentBodies"] == [options["text"], options["reply"]]
    for path in outcome["shots"].values():
        assert os.path.getsize(path) > 10_000
        print(f"screenshot: {path}")
