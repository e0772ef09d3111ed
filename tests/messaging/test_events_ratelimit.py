"""Room events with a gap-free seq, and the send rate limit (memory and Redis)."""
from __future__ import annotations

import json
import time
import uuid

import pytest
import redis

from api import create_app
from tests.messaging.conftest import send

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_each_event_in_the_conversation_room_takes_the_next_seq(as_, mentorship, events):
    cid = mentorship(1, 2)
    mentor, student = as_("mentor", 1), as_("student", 2)
    first = send(mentor, cid, "one")
    second = send(student, cid, "two", parent_id=first["id"])
    mentor.patch(f"/messages/{first['id']}", json={"body": "one!"})
    mentor.post(f"/conversations/{cid}/read", json={"message_id": second["id"]})
    mentor.delete(f"/messages/{first['id']}")
    logged = events(f"conversation:{cid}")
    assert [e.type for e in logged] == [
        "message:created", "message:created", "message:updated", "conversation:read", "message:deleted"
    ]
    assert [e.seq for e in logged] == [1, 2, 3, 4, 5]
    created = json.loads(logged[0].data)
    assert {"id", "conversation_id", "sender", "body"} <= set(created)
    assert json.loads(logged[4].data)["body"] is None
    assert as_("mentor", 1).get(f"/conversations/{cid}").get_json()["last_seq"] == 5
    # The pair learnt about the conversation in their personal rooms (the mentor also of the student's message).
    assert [e.type for e in events("mentor:1")] == ["conversation:created", "notification:created"]


def _clean_up(app, redis_prefix: str | None) -> None:
    """Forget the limiter's Redis keys (if it used Redis) and the app's connections."""
    if redis_prefix:
        r = redis.Redis.from_url(REDIS_URL)
        for key in r.scan_iter(f"{redis_prefix}*"):
            r.delete(key)
        r.close()
    with app.app_context():
        from api.extensions import db

        db.session.remove()
        db.engine.dispose()


def _limited_client(config, **changes):
    app = create_app(config.replace(send_rate_limit=3, send_rate_window_seconds=60, **changes))
    return app, app.test_client()


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_sending_is_rate_limited_per_principal(config, app, auth, mentorship, backend):
    cid = mentorship(1, 2)
    changes = {}
    prefix = f"rl-test-{uuid.uuid4().hex}:"
    if backend == "redis":
        changes = {"redis_url": REDIS_URL, "rate_limit_prefix": prefix}
    limited, client = _limited_client(config, **changes)
    url = f"/api/v1/conversations/{cid}/messages"
    try:
        codes = [client.post(url, json={"body": f"m{i}"}, headers=auth("mentor", 1)).status_code for i in range(4)]
        assert codes == [201, 201, 201, 429]
        refused = client.post(url, json={"body": "again"}, headers=auth("mentor", 1))
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.get_json()["error"]["code"] == "rate_limited"
        # Another principal has their own budget.
        assert client.post(url, json={"body": "me too"}, headers=auth("student", 2)).status_code == 201
        if backend == "redis":
            # A second worker (another app) shares the Redis counters.
            _, other_worker = _limited_client(config, **changes)
            assert other_worker.post(url, json={"body": "x"}, headers=auth("mentor", 1)).status_code == 429
    finally:
        _clean_up(limited, prefix if backend == "redis" else None)


def _sleep_until_phase(window: int, phase: float) -> None:
    """Sleep until `time % window` reaches `phase` (at most one window)."""
    time.sleep((phase - time.time() % window) % window)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_the_window_slides_across_clock_boundaries(config, auth, mentorship, backend):
    """5 sends just before a 2 s clock boundary leave no budget just after it."""
    cid = mentorship(1, 2)
    prefix = f"rl-test-{uuid.uuid4().hex}:"
    changes = {"redis_url": REDIS_URL, "rate_limit_prefix": prefix} if backend == "redis" else {}
    limited = create_app(config.replace(send_rate_limit=5, send_rate_window_seconds=2, **changes))
    client, url, headers = limited.test_client(), f"/api/v1/conversations/{cid}/messages", auth("mentor", 1)
    try:
        _sleep_until_phase(2, 1.2)
        first = time.time()
        assert [client.post(url, json={"body": "x"}, headers=headers).status_code for _ in range(5)] == [201] * 5
        last = time.time()
        if int(last // 2) == int(first // 2):
            _sleep_until_phase(2, 0.05)  # into the next fixed window
        assert time.time() - first < 2, "the sends took too long for the premise (a loaded machine)"
        refused = client.post(url, json={"body": "over"}, headers=headers)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] in ("1", "2")
        time.sleep(max(0.0, last + 2.1 - time.time()))  # every send of the burst is out of the window
        assert client.post(url, json={"body": "later"}, headers=headers).status_code == 201
    finally:
        _clean_up(limited, prefix if backend == "redis" else None)


def test_retried_client_msg_id_is_not_counted_twice(config, auth, mentorship):
    cid = mentorship(1, 2)
    limited, client = _limited_client(config)
    url = f"/api/v1/conversations/{cid}/messages"
    headers = auth("mentor", 1)
    codes = [client.post(url, json={"body": "x", "client_msg_id": "same"}, headers=headers).status_code
             for _ in range(6)]
    assert codes == [201, 200, 200, 200, 200, 200]
    with limited.app_context():
        from api.extensions import db

        db.session.remove()
        db.engine.dispose()
