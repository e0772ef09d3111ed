"""No two overlapping sessions for one host, when the requests race: threads
against the real API over TCP on MariaDB, then the database is checked."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select, text

from api.extensions import db
from shared.models import Event, Session
from tests.mentorship.conftest import MENTOR
from tests.mentorship.session_helpers import at, wire

pytestmark = pytest.mark.mysql


def scalar(app, stmt):
    with app.app_context():
        try:
            return db.session.execute(stmt).scalar()
        finally:
            db.session.remove()


def outcome(results):
    return sorted((code, (body or {}).get("error", {}).get("code")) for code, body in results)


def _active(live, student):
    rel = live.ok("POST", "/relationships", student, {"mentor_id": MENTOR[1]}, status=201)
    return live.ok("POST", f"/relationships/{rel['id']}/accept", MENTOR)


def test_overlapping_sessions_created_at_once_one_wins(live, app):
    """Eight overlapping sessions for eight mentees of one mentor (never
    used before, so even the lock row is made in the race): one is created."""
    live.ok("PUT", "/mentors/me/profile", MENTOR, {"max_mentees": 10})
    rels = [_active(live, ("student", 400 + i)) for i in range(8)]
    start = at(hours=24)
    calls = []
    for i, rel in enumerate(rels):
        begin = start + dt.timedelta(minutes=5 * i)
        payload = {"title": f"s{i}", "starts_at": wire(begin), "ends_at": wire(begin + dt.timedelta(hours=1)),
                   "relationship_id": rel["id"]}
        calls.append(("POST", "/sessions", MENTOR, payload))
    results = live.race(calls)
    assert outcome(results) == [(201, None)] + [(409, "session_overlaps")] * 7
    assert scalar(app, select(func.count()).select_from(Session)) == 1
    created = select(func.count()).select_from(Event).where(Event.type == "session:created")
    assert scalar(app, created) == 2  # the one session, told to the mentor and its student


def test_moves_racing_into_the_same_slot_one_wins(live, app):
    """Six sessions on different days are all moved to the same hour at once: one move succeeds."""
    live.ok("PUT", "/mentors/me/profile", MENTOR, {})
    rel = _active(live, ("student", 500))
    ids = []
    for day in range(6):
        begin = at(hours=24 * (day + 2))
        payload = {"title": f"d{day}", "starts_at": wire(begin), "ends_at": wire(begin + dt.timedelta(hours=1)),
                   "relationship_id": rel["id"]}
        ids.append(live.ok("POST", "/sessions", MENTOR, payload, status=201)["id"])
    slot = at(hours=24 * 10)
    move = {"starts_at": wire(slot), "ends_at": wire(slot + dt.timedelta(hours=1))}
    results = live.race([("PATCH", f"/sessions/{i}", MENTOR, move) for i in ids])
    assert outcome(results) == [(200, None)] + [(409, "session_overlaps")] * 5
    in_slot = select(func.count()).select_from(Session).where(Session.starts_at == slot)
    assert scalar(app, in_slot) == 1


def test_a_placement_waits_for_the_host_lock_and_sees_what_was_committed(live, app):
    """Another transaction holds the host's lock and has an overlapping session
    written but not committed: the request waits, then sees it (a read from a
    snapshot taken before that commit would have let both through)."""
    live.ok("PUT", "/mentors/me/profile", MENTOR, {})
    rel = _active(live, ("student", 700))
    start = at(hours=24)
    payload = {"title": "mine", "starts_at": wire(start), "ends_at": wire(start + dt.timedelta(hours=1)),
               "relationship_id": rel["id"]}
    live.ok("POST", "/sessions", MENTOR, {**payload, "starts_at": wire(start - dt.timedelta(hours=5)),
                                          "ends_at": wire(start - dt.timedelta(hours=4))}, status=201)
    with app.app_context():
        engine = db.engine
    outcome = []
    with engine.connect() as conn:
        conn.execute(text("SELECT * FROM session_hosts WHERE host_role = 'mentor' AND host_id = :m FOR UPDATE"),
                     {"m": MENTOR[1]})
        conn.execute(text(
            "INSERT INTO sessions (host_role, host_id, title, starts_at, ends_at, status, sequence, created_at,"
            " updated_at) VALUES ('mentor', :m, 'theirs', :s, :e, 'scheduled', 0, :s, :s)"),
            {"m": MENTOR[1], "s": start + dt.timedelta(minutes=30), "e": start + dt.timedelta(hours=2)})
        worker = threading.Thread(target=lambda: outcome.append(live.call("POST", "/sessions", MENTOR, payload)),
                                  daemon=True)
        worker.start()
        worker.join(timeout=1.0)
        assert outcome == [], "the request did not wait for the host's lock"
        conn.commit()
    worker.join(timeout=30)
    assert outcome and outcome[0][0] == 409 and outcome[0][1]["error"]["code"] == "session_overlaps"


def test_sessions_scheduled_while_the_relationship_ends_are_cancelled_or_refused(live, app):
    """Five sessions are scheduled as the relationship ends: none is left scheduled for an ended relationship."""
    live.ok("PUT", "/mentors/me/profile", MENTOR, {})
    rel = _active(live, ("student", 800))
    calls = []
    for i in range(5):
        begin = at(hours=24 * (i + 1))
        calls.append(("POST", "/sessions", MENTOR, {"title": f"s{i}", "starts_at": wire(begin),
                                                   "ends_at": wire(begin + dt.timedelta(hours=1)),
                                                   "relationship_id": rel["id"]}))
    calls.append(("POST", f"/relationships/{rel['id']}/end", ("student", 800), {"reason": "bye"}))
    results = live.race(calls)
    assert results[-1][0] == 200
    assert {code for code, _ in results[:-1]} <= {201, 422}
    left = select(func.count()).select_from(Session).where(Session.status == "scheduled")
    assert scalar(app, left) == 0
