"""Sessions over HTTP: schedule, see, change, cancel, complete, attendance, and what each change tells whom."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import event, select

from api.extensions import db
from shared.models import AuditEntry, Notification, Session, SessionReminder
from tests.conftest import BACKEND
from tests.mentorship.conftest import ADMIN, MENTOR, OTHER_MENTOR, OTHER_STUDENT, STUDENT, events_by_room
from tests.mentorship.session_helpers import at, body, count, rows, schedule, wire, z

MENTOR_ROOM, STUDENT_ROOM = "mentor:11", "student:21"


def session_events(app, room):
    return [(t, d) for t, d in events_by_room(app).get(room, []) if t.startswith("session:")]


def test_schedule_after_accept_and_the_student_sees_it_in_their_week(api, app):
    rel = api.active()
    start = at(hours=50)
    created = schedule(api, rel, start, location="https://meet.example/abc", description="Bring questions")
    assert created["host"] == {"role": "mentor", "id": MENTOR[1]}
    assert created["attendees"] == [{"principal": {"role": "student", "id": STUDENT[1]}, "attendance": None,
                                     "attendance_at": None}]
    assert (created["status"], created["sequence"], created["relationship_id"]) == ("scheduled", 0, rel["id"])
    assert created["starts_at"] == z(start) and created["location"] == "https://meet.example/abc"
    week = {"from": wire(start - dt.timedelta(days=2)), "to": wire(start + dt.timedelta(days=5))}
    listed = api.ok(api.get("/sessions", STUDENT, query_string=week))
    assert [s["id"] for s in listed["sessions"]] == [created["id"]]
    assert api.ok(api.get(f"/sessions/{created['id']}", STUDENT)) == created
    for room in (MENTOR_ROOM, STUDENT_ROOM):
        assert session_events(app, room) == [("session:created", created)]
    notes = rows(app, select(Notification.recipient_role, Notification.type, Notification.link))
    assert ("student", "session_created", f"/sessions/{created['id']}") in notes
    assert not [n for n in notes if n[0] == "mentor" and n[1].startswith("session")]
    audit = rows(app, select(AuditEntry.entity, AuditEntry.action, AuditEntry.actor_role).where(
        AuditEntry.entity == "session"))
    assert audit == [("session", "created", "mentor")]


def test_times_with_an_offset_are_stored_in_utc(api):
    rel = api.active()
    start = at(hours=30)
    payload = body(start, relationship_id=rel["id"])
    payload["starts_at"], payload["ends_at"] = wire(start, "+02:00"), wire(start + dt.timedelta(hours=1), "-05:30")
    created = api.ok(api.post("/sessions", MENTOR, json=payload), 201)
    assert created["starts_at"] == z(start) and created["ends_at"] == z(start + dt.timedelta(hours=1))


def test_the_host_moves_a_session_and_reminders_follow(api, app):
    rel = api.active()
    created = schedule(api, rel, at(hours=5))
    later = at(hours=30)
    patch = {"starts_at": wire(later), "ends_at": wire(later + dt.timedelta(hours=2)), "location": "Room 4"}
    moved = api.ok(api.patch(f"/sessions/{created['id']}", MENTOR, json=patch))
    assert (moved["starts_at"], moved["location"], moved["sequence"]) == (z(later), "Room 4", 1)
    due = rows(app, select(SessionReminder.minutes_before, SessionReminder.due_at).order_by(
        SessionReminder.minutes_before))
    assert due == [(10, later - dt.timedelta(minutes=10)), (60, later - dt.timedelta(minutes=60))]
    assert [t for t, _ in session_events(app, STUDENT_ROOM)] == ["session:created", "session:updated"]
    same = api.ok(api.patch(f"/sessions/{created['id']}", MENTOR, json={"location": "Room 4"}))
    assert same["sequence"] == 1  # nothing changed: no new version, no event
    assert len(session_events(app, STUDENT_ROOM)) == 2


def test_cancel_needs_a_reason_drops_reminders_and_tells_both(api, app):
    rel = api.active()
    created = schedule(api, rel)
    assert api.post(f"/sessions/{created['id']}/cancel", MENTOR, json={}).status_code == 422
    cancelled = api.ok(api.post(f"/sessions/{created['id']}/cancel", MENTOR, json={"reason": "ill"}))
    assert (cancelled["status"], cancelled["cancel_reason"], cancelled["sequence"]) == ("cancelled", "ill", 1)
    assert count(app, SessionReminder) == 0
    assert session_events(app, STUDENT_ROOM)[-1] == ("session:cancelled", cancelled)
    again = api.post(f"/sessions/{created['id']}/cancel", MENTOR, json={"reason": "x"})
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "session_not_scheduled")
    patch = api.patch(f"/sessions/{created['id']}", MENTOR, json={"title": "new"})
    assert patch.status_code == 409


def test_complete_and_attendance_once_it_has_started(api, app):
    rel = api.active()
    future = schedule(api, rel, at(hours=3))
    early = api.post(f"/sessions/{future['id']}/complete", MENTOR)
    assert (early.status_code, early.get_json()["error"]["code"]) == (409, "session_not_started")
    student = {"role": "student", "id": STUDENT[1]}
    path = f"/sessions/{future['id']}/attendance"
    ahead = api.put(path, MENTOR, json=[{"principal": student, "status": "present"}])
    assert ahead.status_code == 422
    excused = api.put(path, MENTOR, json=[{"principal": student, "status": "excused"}])
    assert api.ok(excused)["attendees"][0]["attendance"] == "excused"

    held = schedule(api, rel, at(hours=-2))
    marked = api.ok(api.put(f"/sessions/{held['id']}/attendance", MENTOR,
                            json=[{"principal": student, "status": "late"}]))
    assert marked["attendees"][0]["attendance"] == "late" and marked["attendees"][0]["attendance_at"]
    done = api.ok(api.post(f"/sessions/{held['id']}/complete", MENTOR))
    assert done["status"] == "completed" and done["completed_at"]
    fixed = api.ok(api.put(f"/sessions/{held['id']}/attendance", MENTOR,
                           json=[{"principal": student, "status": "present"}]))
    assert fixed["attendees"][0]["attendance"] == "present"
    types = [t for t, d in session_events(app, STUDENT_ROOM) if d["id"] == held["id"]]
    assert types == ["session:created", "session:attendance", "session:completed", "session:attendance"]
    notes = rows(app, select(Notification.type).where(Notification.recipient_role == "student"))
    assert ("session_attendance",) in notes
    actions = rows(app, select(AuditEntry.action).where(AuditEntry.entity_id == held["id"]).order_by(AuditEntry.id))
    assert [a for (a,) in actions] == ["created", "attendance", "completed", "attendance"]


def test_ending_the_relationship_cancels_its_future_sessions(api, app):
    rel = api.active()
    past = schedule(api, rel, at(hours=-3))
    future = [schedule(api, rel, at(hours=h)) for h in (24, 48)]
    api.ok(api.post(f"/relationships/{rel['id']}/end", STUDENT, json={"reason": "moving on"}))
    for created in future:
        now = api.ok(api.get(f"/sessions/{created['id']}", STUDENT))
        assert now["status"] == "cancelled" and now["cancel_reason"] == "the mentorship ended: moving on"
    assert api.ok(api.get(f"/sessions/{past['id']}", STUDENT))["status"] == "scheduled"
    cancelled = [d["id"] for t, d in session_events(app, MENTOR_ROOM) if t == "session:cancelled"]
    assert sorted(cancelled) == sorted(c["id"] for c in future)
    assert count(app, SessionReminder) == 0
    notes = rows(app, select(Notification.type).where(Notification.recipient_role == "mentor"))
    assert notes.count(("session_cancelled",)) == 2  # the student ended it: the mentor hears


def test_a_mentor_invites_only_active_mentees_an_admin_anyone(api):
    rel = api.active()
    api.active(OTHER_STUDENT, OTHER_MENTOR)
    people = [{"role": "student", "id": STUDENT[1]}, {"role": "student", "id": OTHER_STUDENT[1]}]
    refused = api.post("/sessions", MENTOR, json=body(at(hours=10), attendees=people))
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"] == {"attendees": {"1": ["not an active mentee of yours"]}}
    ok = api.ok(api.post("/sessions", MENTOR, json=body(at(hours=10), attendees=people[:1])), 201)
    assert ok["relationship_id"] is None and len(ok["attendees"]) == 1
    anyone = people + [{"role": "mentor", "id": OTHER_MENTOR[1]}]
    hosted = api.ok(api.post("/sessions", ADMIN, json=body(at(hours=10), attendees=anyone)), 201)
    assert hosted["host"] == {"role": "admin", "id": ADMIN[1]} and len(hosted["attendees"]) == 3
    by_admin = api.ok(api.post("/sessions", ADMIN, json=body(at(hours=20), relationship_id=rel["id"])), 201)
    assert {a["principal"]["role"] for a in by_admin["attendees"]} == {"mentor", "student"}


def test_a_group_conversation_session_is_for_its_current_participants(api):
    members = [{"role": "student", "id": 31}, {"role": "student", "id": 32}]
    group = {"type": "group", "title": "Cohort", "participants": members}
    group = api.ok(api.post("/conversations", MENTOR, json=group), 201)
    removed = api.delete(f"/conversations/{group['id']}/participants/student/32", MENTOR)
    assert removed.status_code in (200, 204)
    created = api.ok(api.post("/sessions", MENTOR, json=body(at(hours=6), conversation_id=group["id"])), 201)
    assert created["conversation_id"] == group["id"]
    assert [a["principal"] for a in created["attendees"]] == [{"role": "student", "id": 31}]
    assert api.get(f"/sessions/{created['id']}", ("student", 31)).status_code == 200
    assert api.get(f"/sessions/{created['id']}", ("student", 32)).status_code == 404  # left before: not invited
    other = api.post("/sessions", OTHER_MENTOR, json=body(at(hours=6), conversation_id=group["id"]))
    assert other.status_code == 422  # not their group


def test_overlap_is_refused_adjacent_and_cancelled_are_not(api, app):
    rel = api.active()
    start = at(hours=24)
    first = schedule(api, rel, start, hours=2)
    clash = api.post("/sessions", MENTOR, json=body(start + dt.timedelta(hours=1), relationship_id=rel["id"]))
    error = clash.get_json()["error"]
    assert (clash.status_code, error["code"]) == (409, "session_overlaps")
    assert error["details"] == {"sessions": [first["id"]]}
    after = schedule(api, rel, start + dt.timedelta(hours=2))  # starts when the first ends
    moved = api.patch(f"/sessions/{after['id']}", MENTOR, json={"starts_at": wire(start + dt.timedelta(minutes=90))})
    assert moved.status_code == 409 and moved.get_json()["error"]["code"] == "session_overlaps"
    api.ok(api.post(f"/sessions/{first['id']}/cancel", MENTOR, json={"reason": "clash"}))
    schedule(api, rel, start + dt.timedelta(minutes=30))
    assert count(app, Session) == 3


def test_listing_is_in_time_order_filters_and_pages(api):
    rel = api.active()
    base = at(hours=24)
    made = [schedule(api, rel, base + dt.timedelta(hours=h)) for h in (5, 1, 3, 7, 9)]
    api.ok(api.post(f"/sessions/{made[4]['id']}/cancel", MENTOR, json={"reason": "x"}))
    window = {"from": wire(base), "to": wire(base + dt.timedelta(days=1))}
    in_order = [m["id"] for m in sorted(made, key=lambda m: m["starts_at"])]
    listed = api.ok(api.get("/sessions", STUDENT, query_string=window))
    assert [s["id"] for s in listed["sessions"]] == in_order
    first = api.ok(api.get("/sessions", STUDENT, query_string={**window, "limit": 2}))
    assert [s["id"] for s in first["sessions"]] == in_order[:2] and first["next_after"] == in_order[1]
    second = api.ok(api.get("/sessions", STUDENT, query_string={**window, "limit": 2, "after": first["next_after"]}))
    assert [s["id"] for s in second["sessions"]] == in_order[2:4]
    back = api.ok(api.get("/sessions", STUDENT, query_string={**window, "limit": 2, "before": in_order[4]}))
    assert [s["id"] for s in back["sessions"]] == in_order[2:4] and back["next_before"] == in_order[2]
    scheduled = api.ok(api.get("/sessions", MENTOR, query_string={**window, "status": "scheduled"}))
    assert len(scheduled["sessions"]) == 4
    narrow = {"from": wire(base + dt.timedelta(hours=3, minutes=30)), "to": wire(base + dt.timedelta(hours=4))}
    assert [s["id"] for s in api.ok(api.get("/sessions", STUDENT, query_string=narrow))["sessions"]] == [made[2]["id"]]
    assert api.ok(api.get("/sessions", OTHER_STUDENT, query_string=window))["sessions"] == []
    assert len(api.ok(api.get("/sessions", ADMIN, query_string=window))["sessions"]) == 5
    plus = {"from": (base.isoformat() + " 00:00"), "to": wire(base + dt.timedelta(days=1))}  # an unencoded '+'
    assert len(api.ok(api.get("/sessions", STUDENT, query_string=plus))["sessions"]) == 5


def _statements(app, call) -> tuple[int, object]:
    with app.app_context():
        engine = db.engine
    seen = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = call()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen), response


def test_statement_counts_do_not_grow_with_the_data(api, app):
    """A page of sessions costs the same statements for 2 sessions as for 12
    (attendees in one query); scheduling grows only by the notification per attendee."""
    rel = api.active()
    base = at(hours=24)
    window = {"from": wire(base), "to": wire(base + dt.timedelta(days=3))}
    pages = []
    for total in (2, 12):
        while len(api.ok(api.get("/sessions", MENTOR, query_string=window))["sessions"]) < total:
            done = len(api.ok(api.get("/sessions", MENTOR, query_string=window))["sessions"])
            schedule(api, rel, base + dt.timedelta(hours=2 * done))
        pages.append(_statements(app, lambda: api.get("/sessions", STUDENT, query_string=window))[0])
    assert pages[0] == pages[1]
    one, _ = _statements(app, lambda: api.post("/sessions", ADMIN, json=body(at(hours=100), attendees=[
        {"role": "student", "id": 900}])))
    many, response = _statements(app, lambda: api.post("/sessions", ADMIN, json=body(at(hours=200), attendees=[
        {"role": "student", "id": 900 + i} for i in range(20)])))
    assert response.status_code == 201
    if BACKEND != "sqlite":  # SQLite's driver inserts the deferred event rows one by one
        # Attendees and events are one INSERT each; notifications one per recipient
        # (api.messaging.notifying.notify flushes for the id its event carries).
        assert many - one == 19
