"""`/client/realtime.js` in headless Chromium, imported cross-origin by a page (tests/js/realtime_browser.js).

A reload mid-stream misses nothing and repeats nothing, nor does coming back
after more than the replay cap (`resync`, paged over REST); an event lost on its
way in is noticed by its room's `seq` and fetched with `sync` on the same
socket; a short-lived token is refreshed with `auth:refresh` and the socket
outlives it. Screenshots land in `test-artifacts/`.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import requests

from tests.conftest import TEST_SECRET
from tests.gateway.conftest import ROOT
from tests.gateway.helpers import JS_DIR

# One sender per scenario: each stays far below the per-sender message rate limit.
MENTORS = {"reload": ("mentor", 41), "gap": ("mentor", 42), "refresh": ("mentor", 43), "away": ("mentor", 44)}
STUDENT = ("student", 51)
ARTIFACTS = os.path.join(ROOT, "test-artifacts")


@pytest.fixture
def config(config):
    """The page's origin is not the API's: allow it."""
    return config.replace(cors_origins=["*"])


@pytest.fixture
def browse(gateways, api, live_server):
    """browse(scenario, gateway_env={}, **options) -> what the page saw, after running the scenario in Chromium."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed (scripts/system-deps installs it)")
    conversation_id = api.group(1, [*MENTORS.values(), STUDENT], title="Realtime helper")
    os.makedirs(ARTIFACTS, exist_ok=True)

    def run(scenario: str, gateway_env: dict | None = None, **options) -> dict:
        gateway = gateways(**(gateway_env or {}))
        options = {"scenario": scenario, "gatewayUrl": gateway.url, "apiUrl": live_server, "secret": TEST_SECRET,
                   "student": list(STUDENT), "mentor": list(MENTORS[scenario]), "conversationId": conversation_id,
                   "ttl": 3600, "count": 0, "screenshotDir": ARTIFACTS, "chromium": chromium, **options}
        result = subprocess.run(["node", "realtime_browser.js", json.dumps(options)], cwd=JS_DIR,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        assert os.path.getsize(seen["shot"]) > 5_000
        print(f"screenshot: {seen['shot']}")
        metrics = gateway.metrics()
        return {**seen, "conversation_id": conversation_id, "replayed": metrics["gateway_events_replayed_total"],
                "resyncs": metrics["gateway_resyncs_total"]}

    return run


def committed_messages(api, conversation_id: int) -> list[int]:
    """The ids of the message:created events the API logged for the conversation, oldest first."""
    page = api.call("GET", "/events?after=0&limit=1000", STUDENT, expect=200)
    room = f"conversation:{conversation_id}"
    return [e["id"] for e in page["events"] if e["type"] == "message:created" and e["room"] == room]


def test_the_helper_is_served_always_with_cors_and_revalidation(gateways):
    gateway = gateways(GATEWAY_DEMO="0", CORS_ORIGINS="https://app.example")
    helper = requests.get(gateway.url + "/client/realtime.js", headers={"Origin": "https://app.example"}, timeout=10)
    assert helper.status_code == 200 and helper.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert helper.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert helper.headers["Cache-Control"] == "no-cache" and 'from "./socket.io.esm.min.js"' in helper.text
    again = requests.get(gateway.url + "/client/realtime.js", headers={"If-None-Match": helper.headers["ETag"]},
                         timeout=10)
    assert again.status_code == 304
    client = requests.get(gateway.url + "/client/socket.io.esm.min.js", headers={"Origin": "https://evil.example"},
                          timeout=10)
    assert client.status_code == 200 and client.text.startswith("/*!\n * Socket.IO v4.8.4")
    assert "Access-Control-Allow-Origin" not in client.headers and client.headers["Vary"] == "Origin"
    assert requests.get(gateway.url + "/client/other.js", timeout=10).status_code == 404


def test_a_reload_mid_stream_misses_nothing_and_repeats_nothing(browse, api):
    seen = browse("reload", count=30)
    assert seen["loads"] == 3, seen
    got = [item["id"] for item in seen["got"]]
    committed = committed_messages(api, seen["conversation_id"])
    assert len(committed) == 30
    assert got == committed, seen
    assert [item["body"] for item in seen["got"]] == [f"message {i}" for i in range(1, 31)]
    # Mid-stream indeed: some came by replay, sent while the page was away.
    assert seen["replayed"] >= 1


def test_back_after_more_than_the_replay_cap_the_page_catches_up_over_rest(browse, api):
    """The gateway answers a long absence with `resync`: the helper pages GET /events instead."""
    seen = browse("away", gateway_env={"GATEWAY_REPLAY_CAP": 2}, count=12)
    assert seen["resyncs"] == 1 and seen["replayed"] == 0, seen
    assert [item["body"] for item in seen["got"]] == ["before leaving"] + [f"while away {i}" for i in range(1, 13)]
    assert [item["id"] for item in seen["got"]] == committed_messages(api, seen["conversation_id"])
    assert [synced.get("resync") for synced in seen["synced"]] == [True], seen


def test_an_event_lost_on_the_way_is_fetched_by_sync_on_the_same_socket(browse, api):
    seen = browse("gap")
    committed = committed_messages(api, seen["conversation_id"])
    assert [item["body"] for item in seen["got"]] == ["before the gap", "lost on the way", "after the gap"], seen
    assert [item["id"] for item in seen["got"]] == committed
    assert seen["dropped"] == committed[1]
    first, _, last = seen["got"]
    assert seen["gaps"] == [{"room": f"conversation:{seen['conversation_id']}", "expected": first["seq"] + 1,
                             "seq": last["seq"]}]
    assert len(seen["synced"]) == 1 and seen["synced"][0]["replayed"] >= 2
    assert len(seen["connects"]) == 1 and seen["disconnects"] == []


def test_a_short_token_is_refreshed_and_the_socket_outlives_it(browse):
    seen = browse("refresh", ttl=3)
    assert len(seen["refreshed"]) >= 2, seen
    assert [item["body"] for item in seen["got"]] == ["after the old expiry"], seen
    assert len(seen["connects"]) == 1 and seen["disconnects"] == [], seen
    assert seen["errors"] == []
