"""`dashboard:updated`: the periodic job reads the event log, waits out the debounce, and
logs the changed figures to the watcher's personal room (the gateway test sees them live)."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select, update

from api import periodic
from api.extensions import db
from shared.models import DashboardCursor, DashboardWatcher, Event, Message
from shared.timeutil import utcnow
from tests.mentorship.conftest import ADMIN, MENTOR, OTHER_MENTOR, OTHER_STUDENT, STUDENT, events_by_room
from tests.mentorship.session_helpers import at, schedule
from tests.mentorship.test_dashboard import _conversation_of, _send

SECOND = dt.timedelta(seconds=1)


class Clock:
    """Runs the periodic jobs at times of the test's choosing, from now on."""

    def __init__(self, app):
        self.app, self.now = app, utcnow()

    def tick(self, seconds: float = 0.0) -> dict:
        self.now += dt.timedelta(seconds=seconds)
        return periodic.run_due(self.app, self.now)


def updates(app, who) -> list[dict]:
    return [data["figures"] for type_, data in events_by_room(app).get(f"{who[0]}:{who[1]}", [])
            if type_ == "dashboard:updated"]


@pytest.fixture
def clock(app):
    clock = Clock(app)
    clock.tick()  # the first run starts the log cursor here
    return clock


@pytest.fixture
def chat(api):
    api.profile(MENTOR)
    rel = api.active(STUDENT, MENTOR)
    return _conversation_of(api, rel)


def test_a_watcher_gets_the_figures_that_changed_after_the_debounce(app, api, chat, clock):
    api.ok(api.get("/dashboard", MENTOR))
    _send(api, STUDENT, chat)
    _send(api, STUDENT, chat)
    clock.tick(0.1)  # sees the messages: due in DASHBOARD_DEBOUNCE_SECONDS (2)
    clock.tick(1)
    assert updates(app, MENTOR) == []
    clock.tick(2)
    assert updates(app, MENTOR) == [{"unread_messages": 2}]
    clock.tick(5)
    assert updates(app, MENTOR) == [{"unread_messages": 2}]  # nothing changed since


def test_a_burst_of_100_changes_sends_a_handful_carrying_the_final_figures(app, api, chat, clock):
    api.ok(api.get("/dashboard", MENTOR))
    for n in range(100):
        _send(api, STUDENT, chat, f"m{n}")
        if n % 10 == 9:
            clock.tick(0.5)  # the burst spans 5 seconds of the job's time
    clock.tick(3)
    sent = updates(app, MENTOR)
    assert 1 <= len(sent) <= 5
    assert sent[-1] == {"unread_messages": 100}
    values = [figures["unread_messages"] for figures in sent]
    assert values == sorted(values)


def test_only_what_changes_a_figure_is_sent_and_only_to_watchers(app, api, chat, clock):
    api.ok(api.get("/dashboard", MENTOR))
    mine = _send(api, MENTOR, chat)
    api.ok(api.post(f"/conversations/{chat}/read", STUDENT, json={"message_id": mine["id"]}))
    api.ok(api.patch(f"/messages/{mine['id']}", MENTOR, json={"body": "edited"}))
    clock.tick(0.1)
    clock.tick(3)
    assert updates(app, MENTOR) == []  # the mentor's own message and the student's reading change nothing of theirs
    assert updates(app, STUDENT) == []  # never opened a dashboard


def test_relationship_and_goal_changes_reach_both_dashboards(app, api, clock):
    api.profile(MENTOR)
    for who in (MENTOR, STUDENT):
        api.ok(api.get("/dashboard", who))
    rel = api.active(STUDENT, MENTOR)
    clock.tick(0.1)
    clock.tick(3)
    (mentor,) = updates(app, MENTOR)
    assert mentor["active_mentees"] == 1
    (student,) = updates(app, STUDENT)
    assert student["mentor"]["relationship_id"] == rel["id"]
    api.goal(rel)
    clock.tick(0.1)
    clock.tick(3)
    assert updates(app, MENTOR)[-1]["goals"]["total"] == 1
    assert updates(app, STUDENT)[-1]["goals"]["total"] == 1
    assert updates(app, OTHER_MENTOR) == [] and updates(app, OTHER_STUDENT) == []


def test_session_changes_reach_the_host_the_attendees_and_the_admins(app, api, clock):
    api.profile(MENTOR)
    rel = api.active(STUDENT, MENTOR)
    for who in (MENTOR, STUDENT, ADMIN, OTHER_STUDENT):
        api.ok(api.get("/dashboard", who))
    coming = schedule(api, rel, at(hours=24))
    clock.tick(0.1)
    clock.tick(3)
    card = {"id": coming["id"], "title": coming["title"], "starts_at": coming["starts_at"],
            "ends_at": coming["ends_at"]}
    assert updates(app, MENTOR) == [{"upcoming_sessions": {"count": 1, "next": [card]}}]
    assert updates(app, STUDENT) == [{"upcoming_sessions": {"count": 1, "next": [card]}}]
    assert updates(app, ADMIN) == []  # a session planned changes none of the admin's figures
    past = schedule(api, rel, at(hours=-2))
    api.ok(api.post(f"/sessions/{past['id']}/complete", MENTOR))
    api.ok(api.put(f"/sessions/{past['id']}/attendance", MENTOR,
                   json=[{"principal": {"role": "student", "id": STUDENT[1]}, "status": "present"}]))
    api.ok(api.post(f"/sessions/{coming['id']}/cancel", MENTOR, json={"reason": "ill"}))
    clock.tick(0.1)
    clock.tick(3)
    assert updates(app, MENTOR)[-1] == {"upcoming_sessions": {"count": 0, "next": []}, "sessions_held": 1,
                                        "attendance_rate": 1.0}
    assert updates(app, STUDENT)[-1] == {"upcoming_sessions": {"count": 0, "next": []}}
    assert updates(app, ADMIN) == [{"sessions_held_30d": 1, "attendance_rate_30d": 1.0}]
    assert updates(app, OTHER_STUDENT) == []


def test_admins_and_services_watch_everything(app, api, clock):
    for who in (ADMIN, ("service", 1)):
        api.ok(api.get("/dashboard", who))
    api.profile(MENTOR)
    api.request(STUDENT, MENTOR)
    clock.tick(0.1)
    clock.tick(3)
    for who in (ADMIN, ("service", 1)):
        (figures,) = updates(app, who)
        assert figures["relationships_by_status"]["pending"] == 1


def test_a_dashboard_not_opened_for_a_week_is_no_longer_live(app, api, chat, clock):
    api.ok(api.get("/dashboard", MENTOR))
    with app.app_context():
        db.session.execute(update(DashboardWatcher).values(viewed_at=utcnow() - dt.timedelta(days=8), due_at=None))
        db.session.commit()
    _send(api, STUDENT, chat)
    clock.tick(0.1)
    clock.tick(3)
    assert updates(app, MENTOR) == []
    api.ok(api.get("/dashboard", MENTOR))  # opened again: live again
    _send(api, STUDENT, chat)
    clock.tick(0.1)
    clock.tick(3)
    assert updates(app, MENTOR) == [{"unread_messages": 2}]


def _cursor(app) -> int:
    with app.app_context():
        value = db.session.scalar(select(DashboardCursor.last_event_id))
        db.session.remove()
    return value


def test_a_missing_event_id_holds_the_scan_back_for_a_while(app, api, chat, clock):
    with app.app_context():
        top = db.session.scalar(select(func.coalesce(func.max(Event.id), 0)))
        # Ids top+1 and top+2 are taken by transactions that have not committed (or never will).
        db.session.add(Event(id=top + 3, room="mentor:11", type="goal:updated", data="{}", created_at=clock.now))
        db.session.commit()
        db.session.remove()
    clock.tick(1)
    assert _cursor(app) == top
    clock.tick(5)  # past LATE_COMMIT_WAIT: the gap is given up on
    assert _cursor(app) == top + 3


@pytest.mark.mysql
def test_two_processes_send_one_update(app, api, chat, clock):
    api.ok(api.get("/dashboard", MENTOR))
    _send(api, STUDENT, chat)
    clock.tick(0.1)
    at = clock.now + 3 * SECOND
    barrier = threading.Barrier(2)

    def run():
        barrier.wait(timeout=10)
        periodic.run_due(app, at)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert updates(app, MENTOR) == [{"unread_messages": 1}]


def test_a_profile_change_updates_the_mentor_and_their_mentee(app, api, chat, clock):
    for who in (MENTOR, STUDENT):
        api.ok(api.get("/dashboard", who))
    api.profile(MENTOR, display_name="Ada", max_mentees=2)
    clock.tick(3)
    assert updates(app, MENTOR) == [{"capacity": 2}]
    assert updates(app, STUDENT)[0]["mentor"]["display_name"] == "Ada"


def test_a_view_is_checked_once_more_after_the_debounce(app, api, chat, clock):
    """A change that commits while GET /dashboard computes may be scanned before
    the watcher exists: each view is recomputed once, a debounce later."""
    api.ok(api.get("/dashboard", MENTOR))
    with app.app_context():  # a message the log has not told about (as if scanned before the view)
        db.session.add(Message(conversation_id=chat, sender_role="student", sender_id=STUDENT[1], body="x"))
        db.session.commit()
    clock.tick(3)
    assert updates(app, MENTOR) == [{"unread_messages": 1}]


def test_events_in_rooms_no_row_can_match_do_not_stop_the_job(app, api, chat, clock):
    api.ok(api.get("/dashboard", MENTOR))
    rooms = ("mentor:9999999999999999999", "conversation:9999999999999999999", "student:2147483648")
    for room in rooms:
        api.ok(api.post("/events", ("service", 1), json={"room": room, "type": "notice:created", "data": {}}), 201)
    with app.app_context():  # POST /events refuses the API's own types; a log written before that may hold them
        db.session.add_all([Event(room=room, type=type_, data="{}", created_at=clock.now)
                            for room in rooms for type_ in ("goal:created", "message:created")])
        db.session.commit()
        db.session.remove()
    _send(api, STUDENT, chat)
    clock.tick(0.1)
    clock.tick(3)
    assert updates(app, MENTOR) == [{"unread_messages": 1}]
