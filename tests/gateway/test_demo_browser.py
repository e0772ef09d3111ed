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


def chromium_path() -> str:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed (scripts/system-deps installs it)")
    return chromium


def run_pages(options: dict) -> dict:
    result = subprocess.run(
        ["node", "demo_browser.js", json.dumps(options)], cwd=JS_DIR, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["ok"], outcome
    for path in outcome["shots"].values():
        assert os.path.getsize(path) > 10_000
        print(f"screenshot: {path}")
    return outcome


def test_two_browser_pages_exchange_a_message(gateways, api, live_server, token):
    chromium = chromium_path()
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
    outcome = run_pages(options)
    # Bodies render as text: the markup shows literally, it is not interpreted.
    assert outcome["studentBodies"] == [options["text"], options["reply"]]


def test_the_open_conversation_reads_as_0_and_a_refused_send_shows_the_api_error(gateways, api, live_server,
                                                                                  token):
    gateway = gateways(GATEWAY_DEMO="1")
    opened = api.group(1, [MENTOR, STUDENT], title="Open one")
    other = api.group(1, [MENTOR, STUDENT], title="Other one")
    os.makedirs(ARTIFACTS, exist_ok=True)
    options = {
        "scenario": "unread", "studentUrl": page_url(gateway, live_server, token(*STUDENT)),
        "apiUrl": f"{live_server}/api/v1", "mentorToken": token(*MENTOR), "adminToken": token("admin", 1),
        "open": opened, "other": other, "studentId": STUDENT[1], "screenshotDir": ARTIFACTS,
        "chromium": chromium_path(),
    }
    outcome = run_pages(options)
    counts = {conversation_id: (unread, badge) for conversation_id, unread, badge in outcome["counts"]}
    assert counts == {opened: (0, ""), other: (1, " (1)")}
    # The page marked it read on the server too, not only on screen.
    listed = api.call("GET", "/conversations", STUDENT, expect=200)["conversations"]
    assert {c["id"]: c["unread"] for c in listed} == {opened: 0, other: 1}
    # The error the API gives for the same send, in its one shape, is what the page shows.
    refused = api.call("POST", f"/conversations/{opened}/messages", STUDENT, {"body": "am I still here?"}, expect=403)
    assert outcome["error"] == f"403 {refused['error']['code']}: {refused['error']['message']}"
    assert outcome["kept"] == "am I still here?"
