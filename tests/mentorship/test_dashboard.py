"""GET /dashboard and GET /dashboard/stats over HTTP: the figures, who sees what, bad input,
and a number of queries that does not grow with the data."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from sqlalchemy import event, update

from api.extensions import db
from shared.models import Conversation, Goal, Message, Participant, Relationship, Session, SessionAttendee
from shared.timeutil import utcnow
from tests.mentorship.conftest import ADMIN, MENTOR, OTHER_MENTOR, OTHER_STUDENT, STUDENT
from tests.mentorship.session_helpers import at, body, schedule, z

THIRD_STUDENT = ("student", 23)
DAY = dt.timedelta(days=1)


def _conversation_of(api, rel, who=STUDENT):
    (conversation,) = [c for c in api.items("/conversations", who) if c["relationship_id"] == rel["id"]]
    return conversation["id"]


def _send(api, who, cid, body="hi"):
    return api.ok(api.post(f"/conversations/{cid}/messages", who, json={"body": body}), 201)


def test_a_mentors_dashboard(api):
    rel = api.active(STUDENT, MENTOR)
    api.profile(MENTOR, max_mentees=3)
    api.needs(OTHER_STUDENT)
    api.request(OTHER_STUDENT, MENTOR)  # waiting for the mentor
    api.needs(THIRD_STUDENT)
    api.offer(MENTOR, THIRD_STUDENT)  # waiting for the student
    done = api.goal(rel, title="one")
    api.goal(rel, title="two", status="in_progress", progress=50)
    api.ok(api.patch(f"/goals/{done['id']}", STUDENT, json={"status": "completed"}))
    cid = _conversation_of(api, rel)
    _send(api, STUDENT, cid)
    _send(api, STUDENT, cid)

    board = api.ok(api.get("/dashboard", MENTOR))
    assert board["role"] == "mentor"
    assert {k: board[k] for k in ("active_mentees", "capacity", "accepting", "pending_requests", "pending_offers",
                                  "unread_messages")} == {
        "active_mentees": 1, "capacity": 3, "accepting": True, "pending_requests": 1, "pending_offers": 1,
        "unread_messages": 2}
    assert board["goals"] == {"by_status": {"not_started": 0, "in_progress": 1, "completed": 1, "abandoned": 0},
                              "total": 2, "completion_rate": 0.5, "average_progress": 75.0}
    assert board["median_first_response_seconds"] is None  # the mentor has not answered yet
    _send(api, MENTOR, cid)
    answered = api.ok(api.get("/dashboard", MENTOR))
    assert answered["unread_messages"] == 0 and answered["median_first_response_seconds"] >= 0
    assert "relationships_by_status" not in answered and "mentor" not in answered


def test_a_students_dashboard(api):
    assert api.ok(api.get("/dashboard", STUDENT))["mentor"] is None
    api.profile(MENTOR)
    api.profile(OTHER_MENTOR)
    api.needs(STUDENT)
    api.offer(OTHER_MENTOR, STUDENT)  # before the student has a mentor: offers to a mentee are refused
    rel = api.active(STUDENT, MENTOR)
    api.goal(rel, progress=40)
    _send(api, MENTOR, _conversation_of(api, rel))
    board = api.ok(api.get("/dashboard", STUDENT))
    assert board["role"] == "student"
    assert board["mentor"]["id"] == MENTOR[1] and board["mentor"]["relationship_id"] == rel["id"]
    assert board["mentor"]["since"] == rel["responded_at"]
    assert board["pending_offers"] == 1 and board["pending_requests"] == 0 and board["unread_messages"] == 1
    assert board["goals"]["total"] == 1 and board["goals"]["average_progress"] == 40.0
    assert "active_mentees" not in board


def test_the_admin_dashboard_counts_everything(api):
    api.profile(MENTOR)
    rel = api.active(STUDENT, MENTOR)
    declined = api.pending(OTHER_STUDENT, MENTOR)
    api.ok(api.post(f"/relationships/{declined['id']}/decline", MENTOR))
    api.goal(rel)
    cid = _conversation_of(api, rel)
    _send(api, STUDENT, cid)
    _send(api, MENTOR, cid)
    for who in (ADMIN, ("service", 1)):
        board = api.ok(api.get("/dashboard", who))
        assert board["relationships_by_status"] == {"pending": 0, "active": 1, "declined": 1, "cancelled": 0,
                                                    "ended": 0}
        assert board["acceptance_rate_30d"] == 0.5 and board["lasting_over_3_months"] == 0
        assert board["goals"]["total"] == 1
        assert board["messages_per_day"][0] == {"date": utcnow().date().isoformat(), "count": 2}
        assert len(board["messages_per_day"]) == 7 and sum(d["count"] for d in board["messages_per_day"]) == 2
        assert board["active_users_7d"] == board["active_users_30d"] == 3  # the mentor and both students
        assert board["median_response_seconds_30d"] >= 0


def _at(app, model, row_id, **times):
    with app.app_context():
        db.session.execute(update(model).where(model.id == row_id).values(**times))
        db.session.commit()
        db.session.remove()


def test_first_response_time_is_the_median_of_answered_student_runs(app, api):
    api.profile(MENTOR)
    rel = api.active(STUDENT, MENTOR)
    cid = _conversation_of(api, rel)
    t0 = utcnow() - dt.timedelta(hours=2)
    # Runs: student 0s (+10s) -> mentor 60s; student 100s -> mentor 400s; student 500s -> mentor 520s;
    # student 600s unanswered. Answers after 60, 300, 20 seconds: median 60.
    script = [(STUDENT, 0), (STUDENT, 10), (MENTOR, 60), (MENTOR, 70), (STUDENT, 100), (MENTOR, 400),
              (STUDENT, 500), (MENTOR, 520), (STUDENT, 600)]
    for who, seconds in script:
        message = _send(api, who, cid)
        _at(app, Message, message["id"], created_at=t0 + dt.timedelta(seconds=seconds))
    assert api.ok(api.get("/dashboard", MENTOR))["median_first_response_seconds"] == 60.0
    # A fourth answered run (after 100 s): the median of 20, 60, 100, 300 is (60 + 100) / 2.
    _at(app, Message, _send(api, MENTOR, cid)["id"], created_at=t0 + dt.timedelta(seconds=700))
    assert api.ok(api.get("/dashboard", MENTOR))["median_first_response_seconds"] == 80.0
    assert api.ok(api.get("/dashboard", ADMIN))["median_response_seconds_30d"] == 80.0
    # Another mentor's conversations do not count.
    assert api.ok(api.get("/dashboard", OTHER_MENTOR))["median_first_response_seconds"] is None


def test_stats_give_each_period_and_the_ones_before(app, api):
    api.profile(MENTOR)
    old = api.active(STUDENT, MENTOR)
    now = utcnow()
    # Requested and accepted 8 days ago, completed a goal 9 days ago: last week's figures.
    _at(app, Relationship, old["id"], created_at=now - dt.timedelta(days=8), responded_at=now - dt.timedelta(days=8))
    goal = api.goal(old, status="completed")
    _at(app, Goal, goal["id"], created_at=now - dt.timedelta(days=9), completed_at=now - dt.timedelta(days=9))
    api.pending(OTHER_STUDENT, MENTOR)
    stats = api.ok(api.get("/dashboard/stats?period=week&compare=2", ADMIN))
    assert stats["period"] == "week" and stats["compare"] == 2 and len(stats["periods"]) == 3
    this_week, last_week, before = (p["figures"] for p in stats["periods"])
    assert (this_week["requests"], last_week["requests"], before["requests"]) == (1, 1, 0)
    assert this_week["requests_by_status"] == {"pending": 1, "active": 0, "declined": 0, "cancelled": 0, "ended": 0}
    assert last_week["requests_by_status"]["active"] == 1
    assert (this_week["accepted"], last_week["accepted"]) == (0, 1)
    assert last_week["acceptance_rate"] == 1.0 and this_week["acceptance_rate"] is None
    assert (this_week["goals_completed"], last_week["goals_completed"]) == (0, 1)
    assert this_week["messages"] == 0 and this_week["active_users"] >= 1
    starts = [p["start"] for p in stats["periods"]]
    assert starts == sorted(starts, reverse=True) and stats["periods"][1]["end"] == stats["periods"][0]["start"]
    assert len(api.ok(api.get("/dashboard/stats", ("service", 1)))["periods"]) == 2  # week and the one before


def test_lasting_over_three_months(app, api):
    api.profile(MENTOR)
    long = api.active(STUDENT, MENTOR)
    _at(app, Relationship, long["id"], responded_at=utcnow() - dt.timedelta(days=100))
    api.active(OTHER_STUDENT, MENTOR)
    assert api.ok(api.get("/dashboard", ADMIN))["lasting_over_3_months"] == 1
    stats = api.ok(api.get("/dashboard/stats?period=month&compare=1", ADMIN))["periods"]
    # At the end of last month (30 days ago) it had lasted 70 days only.
    assert [p["figures"]["lasting_over_3_months"] for p in stats] == [1, 0]


# Sessions

def _group(api, start, people, who=MENTOR, hours=1):
    attendees = [{"role": role, "id": pid} for role, pid in people]
    return api.ok(api.post("/sessions", who, json=body(start, hours, attendees=attendees)), 201)


def _held(api, session, attendance=(), who=MENTOR):
    api.ok(api.post(f"/sessions/{session['id']}/complete", who))
    if attendance:
        entries = [{"principal": {"role": role, "id": pid}, "status": status} for (role, pid), status in attendance]
        api.ok(api.put(f"/sessions/{session['id']}/attendance", who, json=entries))


def _card(session):
    return {"id": session["id"], "title": session["title"], "starts_at": session["starts_at"],
            "ends_at": session["ends_at"]}


@pytest.fixture
def sessions(api):
    """Mentor 11 with three mentees, sessions in every state; OTHER_MENTOR holds one too."""
    api.profile(MENTOR, max_mentees=5)
    rel = api.active(STUDENT, MENTOR)
    other = api.active(OTHER_STUDENT, MENTOR)
    api.active(THIRD_STUDENT, MENTOR)
    everyone = [STUDENT, OTHER_STUDENT, THIRD_STUDENT]
    _held(api, _group(api, at(hours=-50), everyone),  # 2 of the 3 came
          [(STUDENT, "present"), (OTHER_STUDENT, "late"), (THIRD_STUDENT, "absent")])
    _held(api, schedule(api, rel, at(hours=-30)), [(STUDENT, "excused")])  # not held against the rate
    _held(api, schedule(api, rel, at(hours=-10)))  # attendance never recorded
    not_completed = schedule(api, rel, at(hours=-8))
    api.ok(api.put(f"/sessions/{not_completed['id']}/attendance", MENTOR,
                   json=[{"principal": {"role": "student", "id": STUDENT[1]}, "status": "absent"}]))
    cancelled_past = schedule(api, rel, at(hours=-20))
    api.ok(api.post(f"/sessions/{cancelled_past['id']}/cancel", MENTOR, json={"reason": "ill"}))
    _held(api, schedule(api, rel, at(hours=-40 * 24)), [(STUDENT, "present")])  # before the last 30 days
    cancelled = schedule(api, rel, at(hours=10))
    api.ok(api.post(f"/sessions/{cancelled['id']}/cancel", MENTOR, json={"reason": "clash"}))
    upcoming = [
        schedule(api, rel, at(minutes=-30)),  # under way: still upcoming until it ends
        schedule(api, rel, at(hours=24)),
        _group(api, at(hours=48), [STUDENT, OTHER_STUDENT]),
        schedule(api, other, at(hours=72)),
        schedule(api, rel, at(hours=96)),
    ]
    api.profile(OTHER_MENTOR)
    theirs = api.active(("student", 24), OTHER_MENTOR)
    _held(api, schedule(api, theirs, at(hours=-5), who=OTHER_MENTOR), [(("student", 24), "present")],
          who=OTHER_MENTOR)
    return upcoming


def test_the_session_figures_of_a_host_and_their_mentees(api, sessions):
    under_way, tomorrow, group, others, later = sessions
    mentor = api.ok(api.get("/dashboard", MENTOR))
    assert mentor["upcoming_sessions"] == {"count": 5, "next": [_card(s) for s in (under_way, tomorrow, group)]}
    # Held in the last 30 days: three; of the attendance recorded (excused left out), present or late: 2 of 3.
    assert mentor["sessions_held"] == 3 and mentor["attendance_rate"] == 0.667
    student = api.ok(api.get("/dashboard", STUDENT))
    assert student["upcoming_sessions"] == {"count": 4, "next": [_card(s) for s in (under_way, tomorrow, group)]}
    assert "attendance_rate" not in student and "sessions_held" not in student
    other = api.ok(api.get("/dashboard", OTHER_STUDENT))
    assert other["upcoming_sessions"] == {"count": 2, "next": [_card(group), _card(others)]}
    assert api.ok(api.get("/dashboard", THIRD_STUDENT))["upcoming_sessions"] == {"count": 0, "next": []}
    assert later["starts_at"] > group["starts_at"]
    stranger = api.ok(api.get("/dashboard", ("mentor", 13)))
    assert stranger["upcoming_sessions"] == {"count": 0, "next": []}
    assert stranger["sessions_held"] == 0 and stranger["attendance_rate"] is None


def test_the_admin_counts_every_hosts_sessions(api, sessions):
    for who in (ADMIN, ("service", 1)):
        board = api.ok(api.get("/dashboard", who))
        assert board["sessions_held_30d"] == 4 and board["attendance_rate_30d"] == 0.75  # 3 of 4
        assert "upcoming_sessions" not in board
    stats = api.ok(api.get("/dashboard/stats?period=month&compare=1", ADMIN))
    month, before = (p["figures"] for p in stats["periods"])
    assert (month["sessions_held"], month["sessions_cancelled"], month["attendance_rate"]) == (4, 1, 0.75)
    assert (before["sessions_held"], before["sessions_cancelled"], before["attendance_rate"]) == (1, 0, 1.0)
    (day,) = (p["figures"] for p in api.ok(api.get("/dashboard/stats?period=day&compare=0", ADMIN))["periods"])
    # 10 hours ago (attendance not recorded) and OTHER_MENTOR's 5 hours ago (present).
    assert (day["sessions_held"], day["attendance_rate"]) == (2, 1.0)


def test_a_moved_session_moves_in_the_upcoming_list(api, sessions):
    under_way, tomorrow, group, _, later = sessions
    api.ok(api.patch(f"/sessions/{later['id']}", MENTOR, json={"starts_at": z(at(hours=2)), "ends_at": z(at(hours=3))}))
    moved = api.ok(api.get(f"/sessions/{later['id']}", MENTOR))
    assert api.ok(api.get("/dashboard", STUDENT))["upcoming_sessions"]["next"] == [_card(under_way), _card(moved),
                                                                                   _card(tomorrow)]


# Who sees what

def test_each_principal_sees_only_their_own_figures(api):
    api.profile(MENTOR)
    api.profile(OTHER_MENTOR)
    api.active(STUDENT, MENTOR)
    assert api.ok(api.get("/dashboard", OTHER_MENTOR))["active_mentees"] == 0
    assert api.ok(api.get("/dashboard", OTHER_STUDENT))["mentor"] is None
    assert api.ok(api.get("/dashboard", MENTOR))["active_mentees"] == 1


def test_a_former_mentor_no_longer_counts_the_student(api):
    api.profile(MENTOR)
    rel = api.active(STUDENT, MENTOR)
    api.goal(rel)
    cid = _conversation_of(api, rel)
    api.ok(api.post(f"/relationships/{rel['id']}/end", STUDENT, json={"reason": "done"}))
    board = api.ok(api.get("/dashboard", MENTOR))
    assert board["active_mentees"] == 0 and board["goals"]["total"] == 0
    assert api.ok(api.get("/dashboard", STUDENT))["mentor"] is None
    assert api.ok(api.get("/dashboard", STUDENT))["unread_messages"] == 0
    assert cid


ROLE_MATRIX = {
    "/dashboard": {"mentor": 200, "student": 200, "admin": 200, "service": 200},
    "/dashboard/stats": {"mentor": 403, "student": 403, "admin": 200, "service": 200},
    "/activity": {"mentor": 200, "student": 200, "admin": 200, "service": 200},
}


@pytest.mark.parametrize("path", list(ROLE_MATRIX))
@pytest.mark.parametrize("role", ["mentor", "student", "admin", "service"])
def test_the_role_matrix(api, path, role):
    response = api.get(path, (role, 7))
    assert response.status_code == ROLE_MATRIX[path][role], response.get_json()
    for method in ("POST", "PUT", "PATCH", "DELETE"):  # read-only resources
        assert api.call(method, path, (role, 7), json={}).status_code == 405


@pytest.mark.parametrize("who", [MENTOR, STUDENT])
def test_stats_are_for_admins_and_services_only(api, who):
    response = api.get("/dashboard/stats", who)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "role_not_allowed"


def test_no_token_is_401(client):
    for path in ("/api/v1/dashboard", "/api/v1/dashboard/stats", "/api/v1/activity"):
        response = client.get(path)
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_missing"


@pytest.mark.parametrize("query", [
    "period=hour", "period=", "period=WEEK", "compare=13", "compare=1000000000000000000000", "compare=-1",
    "compare=abc", "compare=1.5", "compare=%D9%A1", "period=week%00",
])
def test_bad_stats_input_is_422(api, query):
    response = api.get(f"/dashboard/stats?{query}", ADMIN)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "validation_failed"


# Query counts

@contextmanager
def counted(app):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _seed(app, first: int, count: int) -> None:
    """`count` relationships of mentor 11 with students from `first` on: a quarter active,
    each active one with two goals, a mentorship conversation of three messages, a session
    held (attendance recorded) and one to come."""
    now = utcnow()
    with app.app_context():
        rels = []
        for n in range(first, first + count):
            status = ("active", "ended", "declined", "pending")[n % 4]
            rels.append(Relationship(mentor_id=MENTOR[1], student_id=1000 + n, status=status, requested_by="student",
                                     created_at=now - dt.timedelta(days=n % 200), responded_at=now))
        db.session.add_all(rels)
        db.session.flush()
        for rel in rels:
            if rel.status != "active":
                continue
            db.session.add_all([Goal(relationship_id=rel.id, title=f"g{i}", status="in_progress", progress=10,
                                     created_by_role="student", created_by_id=rel.student_id) for i in range(2)])
            conversation = Conversation(type="mentorship", relationship_id=rel.id)
            db.session.add(conversation)
            db.session.flush()
            db.session.add_all([Participant(conversation_id=conversation.id, role="mentor", principal_id=MENTOR[1]),
                                Participant(conversation_id=conversation.id, role="student",
                                            principal_id=rel.student_id)])
            db.session.add_all([Message(conversation_id=conversation.id, sender_role=role, sender_id=pid, body="x",
                                        created_at=now - dt.timedelta(minutes=m))
                                for role, pid, m in (("student", rel.student_id, 30), ("mentor", MENTOR[1], 20),
                                                     ("student", rel.student_id, 10))])
            held, coming = (Session(host_role="mentor", host_id=MENTOR[1], relationship_id=rel.id, title="s",
                                    starts_at=now + hours, ends_at=now + hours + dt.timedelta(hours=1),
                                    status=status, completed_at=now if status == "completed" else None)
                            for hours, status in ((-2 * DAY, "completed"), (2 * DAY, "scheduled")))
            db.session.add_all([held, coming])
            db.session.flush()
            came = ("present", "absent")[rel.student_id // 4 % 2]  # every other active one
            db.session.add_all([
                SessionAttendee(session_id=held.id, role="student", principal_id=rel.student_id, attendance=came,
                                attendance_at=now),
                SessionAttendee(session_id=coming.id, role="student", principal_id=rel.student_id),
            ])
        db.session.commit()
        db.session.remove()


DASHBOARDS = [("/dashboard", MENTOR), ("/dashboard", ("student", 1000)), ("/dashboard", ADMIN),
              ("/dashboard/stats?period=year&compare=3", ADMIN), ("/activity", MENTOR)]


def _counts(app, api) -> dict[str, int]:
    counts = {}
    for path, who in DASHBOARDS:
        with counted(app) as statements:
            api.ok(api.get(path, who))
        counts[f"{who[0]} {path}"] = len(statements)
    return counts


def test_the_number_of_queries_does_not_grow_with_the_data(app, api):
    _seed(app, 0, 10)
    small = _counts(app, api)
    _seed(app, 10, 990)
    large = _counts(app, api)
    board = api.ok(api.get("/dashboard", MENTOR))
    assert board["active_mentees"] == 250 and board["sessions_held"] == 250 and board["attendance_rate"] == 0.5
    assert board["upcoming_sessions"]["count"] == 250 and len(board["upcoming_sessions"]["next"]) == 3
    assert api.ok(api.get("/dashboard", ("student", 1000)))["upcoming_sessions"]["count"] == 1
    assert large == small
    print("statements per request at 10 and 1,000 relationships:", small)
