"""GET/PUT /notifications/preferences: the document, its validation, and what a type turned off stops."""
from __future__ import annotations

import datetime as dt

import pytest

from api.messaging.preferences import in_quiet_hours, preference_type
from shared.models import MentorProfile
from tests.messaging.conftest import send

DEFAULTS = {
    "types": {"message": True, "mention": True, "relationship": True, "session": True, "broadcast": True},
    "push": True, "email": "daily", "quiet_hours": None, "updated_at": None,
}
FULL = {
    "types": {"message": False, "mention": True, "relationship": True, "session": False, "broadcast": True},
    "push": False, "email": "weekly",
    "quiet_hours": {"start": "22:00", "end": "07:30", "timezone": "Europe/Paris"},
}


def prefs(user) -> dict:
    r = user.get("/notifications/preferences")
    assert r.status_code == 200
    return r.get_json()


def test_defaults_until_the_first_put_then_the_whole_document(as_):
    student = as_("student", 1)
    assert prefs(student) == DEFAULTS
    r = student.put("/notifications/preferences", json=FULL)
    assert r.status_code == 200
    stored = r.get_json()
    assert stored.pop("updated_at") and stored == FULL
    assert prefs(student) == {**FULL, "updated_at": prefs(student)["updated_at"]}
    # PUT is the whole document: what is left out goes back to its default.
    r = student.put("/notifications/preferences", json={"types": {"broadcast": False}})
    assert r.status_code == 200
    assert {**r.get_json(), "updated_at": None} == {**DEFAULTS, "types": {**DEFAULTS["types"], "broadcast": False}}
    # Somebody else's are their own.
    assert prefs(as_("mentor", 1)) == DEFAULTS


def test_any_role_reads_a_service_cannot_write(as_):
    for who in (("mentor", 2), ("admin", 3), ("service", 4)):
        assert prefs(as_(*who)) == DEFAULTS
    r = as_("service", 4).put("/notifications/preferences", json=FULL)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "read_only_role"
    assert as_("admin", 3).put("/notifications/preferences", json=FULL).status_code == 200


BAD = [
    pytest.param({"types": {"sms": False}}, "types", id="unknown type"),
    pytest.param({"types": {"message": "no"}}, "types", id="type not a boolean"),
    pytest.param({"types": {"message": 0}}, "types", id="type as a number"),
    pytest.param({"types": ["message"]}, "types", id="types not an object"),
    pytest.param({"push": "yes"}, "push", id="push not a boolean"),
    pytest.param({"push": None}, "push", id="push null"),
    pytest.param({"email": True}, "email", id="email a boolean"),
    pytest.param({"email": "sometimes"}, "email", id="email unknown frequency"),
    pytest.param({"quiet_hours": {"start": "24:00", "end": "07:00", "timezone": "UTC"}}, "quiet_hours", id="24:00"),
    pytest.param({"quiet_hours": {"start": "7:00", "end": "08:00", "timezone": "UTC"}}, "quiet_hours", id="7:00"),
    pytest.param({"quiet_hours": {"start": "07:00", "end": "07:00", "timezone": "UTC"}}, "quiet_hours",
                 id="empty window"),
    pytest.param({"quiet_hours": {"start": "\u0661\u0662:00", "end": "07:00", "timezone": "UTC"}}, "quiet_hours",
                 id="arabic-indic digits"),
    pytest.param({"quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Mars/Olympus"}}, "quiet_hours",
                 id="unknown zone"),
    pytest.param({"quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "../../etc/passwd"}}, "quiet_hours",
                 id="zone as a path"),
    pytest.param({"quiet_hours": {"start": "22:00", "end": "07:00"}}, "quiet_hours", id="zone missing"),
    pytest.param({"quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "UTC", "x": 1}}, "quiet_hours",
                 id="unknown quiet field"),
    pytest.param({"quiet_hours": "22:00-07:00"}, "quiet_hours", id="quiet hours as text"),
    pytest.param({"digest": "daily"}, "digest", id="unknown field"),
    pytest.param({"email": "daily\u0000"}, "email", id="control character"),
]


@pytest.mark.parametrize("body,field", BAD)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(as_, body, field):
    student = as_("student", 1)
    assert student.put("/notifications/preferences", json=FULL).status_code == 200
    before = prefs(student)
    r = student.put("/notifications/preferences", json=body)
    assert r.status_code == 422, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "validation_failed" and field in error["details"]
    assert prefs(student) == before


@pytest.mark.parametrize("raw,status", [
    pytest.param(b'{"push": tru', 400, id="malformed JSON"),
    pytest.param(b'[]', 422, id="not an object"),
    pytest.param(b'{"email": "' + b"x" * 1_100_000 + b'"}', 413, id="too big"),
    pytest.param(b'{"email": "\\ud800"}', 422, id="lone surrogate"),
])
def test_bodies_that_are_not_a_document_are_refused_in_the_error_shape(client, auth, raw, status):
    headers = {**auth("student", 1), "Content-Type": "application/json"}
    r = client.put("/api/v1/notifications/preferences", data=raw, headers=headers)
    assert r.status_code == status and set(r.get_json()["error"]) == {"code", "message", "details"}
    assert client.get("/api/v1/notifications/preferences", headers=auth("student", 1)).get_json() == DEFAULTS


def test_a_type_turned_off_creates_no_notification(as_, mentorship):
    cid = mentorship(1, 2)
    student, mentor = as_("student", 2), as_("mentor", 1)
    assert student.put("/notifications/preferences", json={"types": {"message": False}}).status_code == 200
    send(mentor, cid, "quietly")
    assert student.get("/notifications").get_json()["notifications"] == []
    # Mentions have their own type, still on.
    send(mentor, cid, "@student:2 this one matters")
    assert [n["type"] for n in student.get("/notifications").get_json()["notifications"]] == ["mention"]
    # Mentions off too: nothing; mentions off and messages on: the message notification instead.
    student.put("/notifications/preferences", json={"types": {"message": False, "mention": False}})
    student.post("/notifications/read", json={"all": True})
    send(mentor, cid, "@student:2 again")
    assert student.get("/notifications?unread=true").get_json()["notifications"] == []
    student.put("/notifications/preferences", json={"types": {"mention": False}})
    send(mentor, cid, "@student:2 and again")
    assert [n["type"] for n in student.get("/notifications?unread=true").get_json()["notifications"]] == ["message"]


def test_relationship_and_broadcast_types_turned_off(app, as_, events):
    from api.extensions import db

    with app.app_context():
        db.session.add(MentorProfile(mentor_id=1, sectors=[], skills=[], languages=[], availability=[]))
        db.session.commit()
    mentor, student = as_("mentor", 1), as_("student", 2)
    mentor.put("/notifications/preferences", json={"types": {"relationship": False}})
    assert student.post("/relationships", json={"mentor_id": 1}).status_code == 201
    assert mentor.get("/notifications").get_json()["notifications"] == []
    assert "notification:created" not in [e.type for e in events("mentor:1")]
    student.put("/notifications/preferences", json={"types": {"broadcast": False}})
    sent = as_("admin", 9).post("/broadcasts", json={"audience": "all", "title": "Hi", "body": "All"})
    assert sent.status_code == 201 and sent.get_json()["recipients"] == 2
    assert student.get("/notifications").get_json()["notifications"] == []
    assert [n["type"] for n in mentor.get("/notifications").get_json()["notifications"]] == ["broadcast"]


def test_notification_types_map_to_their_preference():
    assert [preference_type(t) for t in ("message", "mention", "relationship_accepted", "session_reminder",
                                         "broadcast", "invoice_paid")] == [
        "message", "mention", "relationship", "session", "broadcast", None]


@pytest.mark.parametrize("start,end,zone,utc,quiet", [
    ("22:00", "07:00", "Europe/Paris", "2026-01-15T21:30", True),  # 22:30 in Paris (winter, UTC+1)
    ("22:00", "07:00", "Europe/Paris", "2026-01-15T20:59", False),  # 21:59
    ("22:00", "07:00", "Europe/Paris", "2026-07-15T04:59", True),  # 06:59 (summer, UTC+2)
    ("22:00", "07:00", "Europe/Paris", "2026-07-15T05:00", False),  # 07:00: the end is not quiet
    ("12:00", "13:00", "America/New_York", "2026-03-02T17:30", True),  # 12:30 (UTC-5)
    ("12:00", "13:00", "America/New_York", "2026-03-02T12:30", False),
])
def test_quiet_hours_run_in_the_principals_zone_and_past_midnight(start, end, zone, utc, quiet):
    document = {"quiet_hours": {"start": start, "end": end, "timezone": zone}}
    assert in_quiet_hours(document, dt.datetime.fromisoformat(utc)) is quiet
    assert in_quiet_hours({"quiet_hours": None}, dt.datetime.fromisoformat(utc)) is False
