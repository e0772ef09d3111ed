"""A mentor watches their dashboard live: a real Socket.IO client on the gateway receives
`dashboard:updated` while a student writes, the API's own periodic thread doing the work."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api import periodic
from api.extensions import db
from shared.models import DashboardCursor, DashboardWatcher, Event
from tests.gateway.helpers import Sock, eventually, run

MENTOR = ("mentor", 41)
STUDENT = ("student", 51)


@pytest.fixture
def config(base_config, redis_url, channel):
    # A short debounce and tick so the test is quick; no send rate limit for the burst.
    return base_config.replace(redis_url=redis_url, events_channel=channel, send_rate_limit=0,
                               periodic_interval=0.2, dashboard_debounce_seconds=1.0)


@pytest.fixture
def ticking(app):
    stop = periodic.start(app)
    yield
    stop.set()


def _settled(app) -> bool:
    """The job has read the whole log and no dashboard waits to be sent."""
    with app.app_context():
        top = db.session.scalar(select(func.max(Event.id)))
        cursor = db.session.scalar(select(DashboardCursor.last_event_id))
        waiting = db.session.scalar(select(func.count()).where(DashboardWatcher.due_at.is_not(None)))
        db.session.remove()
    return cursor is not None and cursor >= top and waiting == 0


def test_the_mentors_counters_change_live_in_a_handful_of_events(app, gateways, api, token, ticking):
    gateway = gateways()
    api.call("PUT", "/mentors/me/profile", MENTOR, {"skills": ["python"]}, expect=200)
    rel = api.call("POST", "/relationships", STUDENT, {"mentor_id": MENTOR[1]}, expect=201)
    api.call("POST", f"/relationships/{rel['id']}/accept", MENTOR, expect=200)
    (conversation,) = api.call("GET", "/conversations", STUDENT)["conversations"]
    board = api.call("GET", "/dashboard", MENTOR, expect=200)
    assert board["unread_messages"] == 0 and board["active_mentees"] == 1

    async def scenario():
        mentor = await Sock(gateway.url).connect(token(*MENTOR))
        for n in range(100):
            await api.a("send", STUDENT, conversation["id"], f"question {n}")
        final = await mentor.wait_for(
            lambda c: [e for e in c.of("dashboard:updated") if e["data"]["figures"].get("unread_messages") == 100],
            what="the final unread count")
        assert final[0]["room"] == f"mentor:{MENTOR[1]}"
        # Nothing more is coming: the job has caught up; then a sentinel goes after anything it could still send.
        await eventually(lambda: _settled(app), what="the dashboard job to catch up")
        await api.a("publish", {"to": {"role": "mentor", "id": MENTOR[1]}}, "test:sentinel", {})
        await mentor.wait_for(lambda c: c.of("test:sentinel"), what="the sentinel")
        updates = mentor.of("dashboard:updated")
        await mentor.close()
        return updates

    updates = run(scenario())
    assert 1 <= len(updates) <= 5, [u["data"] for u in updates]
    counts = [u["data"]["figures"]["unread_messages"] for u in updates]
    print("unread_messages in each dashboard:updated:", counts)
    assert counts == sorted(counts) and counts[-1] == 100
    assert all(set(u["data"]["figures"]) == {"unread_messages"} for u in updates)  # only what changed
    assert api.call("GET", "/dashboard", MENTOR)["unread_messages"] == 100
