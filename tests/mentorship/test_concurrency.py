"""The invariants hold when requests race: threads against the real API over
TCP on MariaDB, then the database is checked directly."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from api.extensions import db
from shared.models import Conversation, Event, Relationship
from tests.mentorship.conftest import MENTOR, STUDENT

pytestmark = pytest.mark.mysql


def scalar(app, stmt):
    with app.app_context():
        try:
            return db.session.execute(stmt).scalar()
        finally:
            db.session.remove()


def statuses(results):
    return sorted((code, (body or {}).get("error", {}).get("code")) for code, body in results)


def test_one_active_mentor_per_student(live, app):
    """Six mentors accept the same student's six requests at once: one wins."""
    mentors = [("mentor", 100 + i) for i in range(6)]
    rel_ids = []
    for mentor in mentors:
        live.ok("PUT", "/mentors/me/profile", mentor, {"skills": ["python"]})
        rel_ids.append(live.ok("POST", "/relationships", STUDENT, {"mentor_id": mentor[1]}, status=201)["id"])
    calls = [("POST", f"/relationships/{r}/accept", m, None) for r, m in zip(rel_ids, mentors, strict=True)]
    results = live.race(calls)
    assert statuses(results) == [(200, None)] + [(409, "student_has_active_mentor")] * 5
    active = select(func.count()).select_from(Relationship).where(
        Relationship.student_id == STUDENT[1], Relationship.status == "active"
    )
    assert scalar(app, active) == 1
    assert scalar(app, select(func.count()).select_from(Conversation)) == 1
    accepted = select(func.count()).select_from(Event).where(Event.type == "relationship:accepted")
    assert scalar(app, accepted) == 2  # one accept, told to both members


def test_one_pending_request_per_pair(live, app):
    """The student requests and the mentor offers, eight times at once: one pending row."""
    live.ok("PUT", "/mentors/me/profile", MENTOR, {})
    live.ok("PUT", "/students/me/needs", STUDENT, {})
    calls = [("POST", "/relationships", STUDENT, {"mentor_id": MENTOR[1]})] * 4
    calls += [("POST", "/relationships", MENTOR, {"student_id": STUDENT[1]})] * 4
    results = live.race(calls)
    assert statuses(results) == [(201, None)] + [(409, "request_already_pending")] * 7
    assert scalar(app, select(func.count()).select_from(Relationship)) == 1
    requested = select(func.count()).select_from(Event).where(Event.type == "relationship:requested")
    assert scalar(app, requested) == 2


def test_mentor_capacity(live, app):
    """max_mentees = 2; eight pending relationships accepted at once (mentor
    accepting requests, students accepting offers): exactly two become active."""
    live.ok("PUT", "/mentors/me/profile", MENTOR, {"max_mentees": 2})
    calls = []
    for i in range(8):
        student = ("student", 200 + i)
        if i % 2:
            rel = live.ok("POST", "/relationships", student, {"mentor_id": MENTOR[1]}, status=201)
            calls.append(("POST", f"/relationships/{rel['id']}/accept", MENTOR, None))
        else:
            live.ok("PUT", "/students/me/needs", student, {})
            rel = live.ok("POST", "/relationships", MENTOR, {"student_id": student[1]}, status=201)
            calls.append(("POST", f"/relationships/{rel['id']}/accept", student, None))
    results = live.race(calls)
    assert statuses(results) == [(200, None)] * 2 + [(409, "mentor_at_capacity")] * 6
    active = select(func.count()).select_from(Relationship).where(
        Relationship.mentor_id == MENTOR[1], Relationship.status == "active"
    )
    assert scalar(app, active) == 2


def test_requests_racing_a_mentor_who_stops_accepting(live, app):
    """Requests and the profile change race; every request either was created
    or was refused as not accepting, and none is created after the change."""
    live.ok("PUT", "/mentors/me/profile", MENTOR, {"accepting": True})
    calls = [("POST", "/relationships", ("student", 300 + i), {"mentor_id": MENTOR[1]}) for i in range(7)]
    calls.append(("PUT", "/mentors/me/profile", MENTOR, {"accepting": False}))
    results = live.race(calls)
    assert results[-1][0] == 200
    created = sum(1 for code, _ in results[:-1] if code == 201)
    assert statuses(results[:-1]) == [(201, None)] * created + [(409, "mentor_not_accepting")] * (7 - created)
    assert scalar(app, select(func.count()).select_from(Relationship)) == created
    code, body = live.call("POST", "/relationships", ("student", 399), {"mentor_id": MENTOR[1]})
    assert (code, body["error"]["code"]) == (409, "mentor_not_accepting")


def test_a_request_waits_for_an_uncommitted_profile_change(live, app, database_url):
    """The request reads `accepting` under a shared lock: while another
    transaction has the profile row changed but not committed, the request
    waits, then sees the committed value (a stale read would have said yes)."""
    live.ok("PUT", "/mentors/me/profile", MENTOR, {"accepting": True})
    with app.app_context():
        engine = db.engine
    outcome = []
    with engine.connect() as conn:
        conn.execute(text("UPDATE mentor_profiles SET accepting = 0 WHERE mentor_id = :m"), {"m": MENTOR[1]})
        worker = threading.Thread(
            target=lambda: outcome.append(live.call("POST", "/relationships", STUDENT, {"mentor_id": MENTOR[1]})),
            daemon=True,
        )
        worker.start()
        worker.join(timeout=1.0)
        assert outcome == [], "the request did not wait for the profile row lock"
        conn.commit()
    worker.join(timeout=30)
    assert outcome and outcome[0][0] == 409
    assert outcome[0][1]["error"]["code"] == "mentor_not_accepting"


def test_an_accept_waits_for_the_mentor_row_and_recounts(live, app):
    """Accepting locks the mentor's profile row: while another transaction
    holds it (and activates a relationship), the accept waits, then counts
    the committed active relationship and refuses."""
    live.ok("PUT", "/mentors/me/profile", MENTOR, {"max_mentees": 1})
    first = live.ok("POST", "/relationships", STUDENT, {"mentor_id": MENTOR[1]}, status=201)
    second = live.ok("POST", "/relationships", ("student", 22), {"mentor_id": MENTOR[1]}, status=201)
    with app.app_context():
        engine = db.engine
    outcome = []
    with engine.connect() as conn:
        conn.execute(text("SELECT mentor_id FROM mentor_profiles WHERE mentor_id = :m FOR UPDATE"), {"m": MENTOR[1]})
        conn.execute(text("UPDATE relationships SET status = 'active' WHERE id = :id"), {"id": first["id"]})
        worker = threading.Thread(
            target=lambda: outcome.append(live.call("POST", f"/relationships/{second['id']}/accept", MENTOR)),
            daemon=True,
        )
        worker.start()
        worker.join(timeout=1.0)
        assert outcome == [], "the accept did not wait for the mentor's row lock"
        conn.commit()
    worker.join(timeout=30)
    assert outcome and (outcome[0][0], outcome[0][1]["error"]["code"]) == (409, "mentor_at_capacity")
