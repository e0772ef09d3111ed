"""Who may do what to a session (a matrix over every session route), and bad
input answered with a 4xx in the error shape, writing nothing."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.mentorship.conftest import ADMIN, MENTOR, OTHER_MENTOR, OTHER_STUDENT, STUDENT
from tests.mentorship.session_helpers import at, body, schedule, wire, written

SERVICE = ("service", 1)
PRESENT = [{"principal": {"role": "student", "id": STUDENT[1]}, "status": "present"}]


@pytest.fixture
def held(api):
    """A session of MENTOR with STUDENT that started an hour ago."""
    return schedule(api, api.active(), at(hours=-1), hours=2)


def routes(session_id):
    return {
        "get": ("GET", f"/sessions/{session_id}", None),
        "patch": ("PATCH", f"/sessions/{session_id}", {"title": "Renamed"}),
        "cancel": ("POST", f"/sessions/{session_id}/cancel", {"reason": "no"}),
        "complete": ("POST", f"/sessions/{session_id}/complete", {}),
        "attendance": ("PUT", f"/sessions/{session_id}/attendance", PRESENT),
    }


# (who, route) -> (status, code); every other pair in the matrix is tried too.
MATRIX = {
    "outsider student": (OTHER_STUDENT, dict.fromkeys(("get", "patch", "cancel", "complete", "attendance"),
                                                     (404, "session_not_found"))),
    "outsider mentor": (OTHER_MENTOR, dict.fromkeys(("get", "patch", "cancel", "complete", "attendance"),
                                                   (404, "session_not_found"))),
    "attendee": (STUDENT, {"get": (200, None), **dict.fromkeys(("patch", "cancel", "complete", "attendance"),
                                                               (403, "not_the_host"))}),
    "service": (SERVICE, {"get": (200, None), **dict.fromkeys(("patch", "cancel", "complete", "attendance"),
                                                              (403, "read_only_role"))}),
    "admin": (ADMIN, {"get": (200, None), "patch": (200, None), "complete": (403, "not_the_host"),
                      "attendance": (403, "not_the_host"), "cancel": (200, None)}),
}


@pytest.mark.parametrize("who", sorted(MATRIX))
def test_who_may_do_what(api, app, held, who):
    principal, expected = MATRIX[who]
    for name, (method, path, payload) in routes(held["id"]).items():
        before = written(app)
        response = api.call(method, "/api/v1" + path, principal, json=payload)
        code = response.get_json()["error"]["code"] if response.status_code >= 400 else None
        assert (response.status_code, code) == expected[name], (who, name, response.get_json())
        if response.status_code >= 400:
            assert written(app) == before, (who, name)


def test_the_host_does_everything(api, held):
    for name, (method, path, payload) in routes(held["id"]).items():
        if name != "cancel":
            assert api.call(method, "/api/v1" + path, MENTOR, json=payload).status_code == 200, name


def test_creating_needs_a_mentor_or_admin(api, app):
    rel = api.active()
    payload = body(at(hours=5), relationship_id=rel["id"])
    for who, code in ((STUDENT, "role_not_allowed"), (SERVICE, "read_only_role")):
        response = api.post("/sessions", who, json=payload)
        assert (response.status_code, response.get_json()["error"]["code"]) == (403, code)
    other = api.post("/sessions", OTHER_MENTOR, json=payload)  # not their relationship
    assert other.status_code == 422 and "relationship_id" in other.get_json()["error"]["details"]
    assert written(app)["sessions"] == 0


def test_a_former_member_keeps_the_history_an_outsider_sees_nothing(api):
    rel = api.active()
    past = schedule(api, rel, at(hours=-5))
    coming = schedule(api, rel, at(hours=5))
    api.ok(api.post(f"/relationships/{rel['id']}/end", MENTOR, json={"reason": "done"}))
    assert api.ok(api.get(f"/sessions/{past['id']}", STUDENT))["status"] == "scheduled"
    assert api.ok(api.get(f"/sessions/{coming['id']}", STUDENT))["status"] == "cancelled"
    again = api.post("/sessions", MENTOR, json=body(at(hours=8), relationship_id=rel["id"]))
    assert again.status_code == 422  # an ended relationship takes no new sessions
    invite = api.post("/sessions", MENTOR, json=body(at(hours=8), attendees=[{"role": "student", "id": STUDENT[1]}]))
    assert invite.status_code == 422  # no longer a mentee
    assert api.get(f"/sessions/{past['id']}", OTHER_STUDENT).status_code == 404


def _times(start, end):
    return {"title": "t", "starts_at": start, "ends_at": end}


NOW = at()
BAD_CREATES = {
    "naive time": _times(NOW.isoformat(), (NOW + dt.timedelta(hours=1)).isoformat() + "Z"),
    "ends before start": _times(wire(at(hours=5)), wire(at(hours=4))),
    "ends at start": _times(wire(at(hours=5)), wire(at(hours=5))),
    "400-day session": _times(wire(at(hours=5)), wire(at(hours=5 + 24 * 400))),
    "25-hour session": _times(wire(at(hours=5)), wire(at(hours=30))),
    "ten years ahead": _times(wire(at(hours=24 * 3650)), wire(at(hours=24 * 3650 + 1))),
    "two years back": _times(wire(at(hours=-24 * 800)), wire(at(hours=-24 * 800 + 1))),
    "year 9999 with a negative offset": _times("9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59-14:00"),
    "not a time": _times("next tuesday", "soon"),
    "a number for a time": _times(1767225600, 1767229200),
    "an offset of 25 hours": _times("2027-01-01T10:00:00+25:00", "2027-01-01T11:00:00Z"),
    "blank title": {**_times(wire(at(hours=5)), wire(at(hours=6))), "title": "   "},
    "title too long": {**_times(wire(at(hours=5)), wire(at(hours=6))), "title": "x" * 201},
    "unknown field": {**_times(wire(at(hours=5)), wire(at(hours=6))), "colour": "red"},
}


@pytest.mark.parametrize("case", sorted(BAD_CREATES))
def test_bad_times_and_text_are_422_and_write_nothing(api, app, case):
    rel = api.active()
    before = written(app)
    payload = {**BAD_CREATES[case], "relationship_id": rel["id"]}
    response = api.post("/sessions", MENTOR, json=payload)
    assert response.status_code == 422, (case, response.get_json())
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert written(app) == before


AUDIENCES = {
    "none": {},
    "two at once": {"relationship_id": 1, "attendees": [{"role": "student", "id": 21}]},
    "relationship id as text": {"relationship_id": "1"},
    "relationship id out of range": {"relationship_id": 2**31},
    "unknown relationship": {"relationship_id": 999},
    "empty attendee list": {"attendees": []},
    "101 attendees": {"attendees": [{"role": "student", "id": i} for i in range(1, 102)]},
    "ten thousand attendees": {"attendees": [{"role": "student", "id": i} for i in range(1, 10001)]},
    "an attendee twice": {"attendees": [{"role": "student", "id": 21}, {"role": "student", "id": 21}]},
    "the host as attendee": {"attendees": [{"role": "mentor", "id": 11}]},
    "a service as attendee": {"attendees": [{"role": "service", "id": 1}]},
    "a stranger": {"attendees": [{"role": "student", "id": 77}]},
    "unknown conversation": {"conversation_id": 999},
    "a direct conversation": {"conversation_id": "direct"},
}


@pytest.mark.parametrize("case", sorted(AUDIENCES))
def test_who_it_is_for_must_make_sense(api, app, case):
    rel = api.active()
    audience = dict(AUDIENCES[case])
    if audience.get("relationship_id") == 1:
        audience["relationship_id"] = rel["id"]
    if audience.get("conversation_id") == "direct":
        direct = api.ok(api.post("/conversations", MENTOR, json={"type": "direct", "participants": [
            {"role": "student", "id": STUDENT[1]}]}), 201)
        audience["conversation_id"] = direct["id"]
    before = written(app)
    response = api.post("/sessions", MENTOR, json=body(at(hours=5), **audience))
    assert response.status_code == 422, (case, response.get_json())
    assert written(app) == before


def test_malformed_and_oversized_bodies(api, app, held):
    before = written(app)
    for method, path in (("POST", "/sessions"), ("PATCH", f"/sessions/{held['id']}"),
                         ("PUT", f"/sessions/{held['id']}/attendance")):
        bad = api.call(method, "/api/v1" + path, MENTOR, data="{nope", content_type="application/json")
        assert (bad.status_code, bad.get_json()["error"]["code"]) == (400, "malformed_json")
        huge = api.call(method, "/api/v1" + path, MENTOR, data='{"title": "' + "x" * 1_100_000 + '"}',
                        content_type="application/json")
        assert huge.status_code == 413
    assert written(app) == before


@pytest.mark.parametrize("payload", [
    {},
    {"title": None},
    {"starts_at": wire(at(hours=3))},  # would start after it ends
    {"ends_at": wire(at(hours=30))},  # 31 hours long
    {"starts_at": "2027-01-01T10:00:00"},
    {"relationship_id": 5},
])
def test_bad_patches(api, app, held, payload):
    before = written(app)
    response = api.patch(f"/sessions/{held['id']}", MENTOR, json=payload)
    assert response.status_code == 422, response.get_json()
    assert written(app) == before


@pytest.mark.parametrize("entries", [
    [],
    [{"principal": {"role": "student", "id": 77}, "status": "present"}],
    [{"principal": {"role": "mentor", "id": 11}, "status": "present"}],
    [PRESENT[0], PRESENT[0]],
    [{"principal": {"role": "student", "id": 21}, "status": "asleep"}],
    [{"principal": {"role": "student", "id": 21}}],
    {"principal": {"role": "student", "id": 21}, "status": "present"},
    [{"principal": {"role": "student", "id": 21}, "status": "present"}] * 101,
])
def test_bad_attendance(api, app, held, entries):
    before = written(app)
    response = api.put(f"/sessions/{held['id']}/attendance", MENTOR, json=entries)
    assert response.status_code == 422, response.get_json()
    assert written(app) == before


@pytest.mark.parametrize("query", [
    {"from": "2027-01-01T00:00:00"},
    {"from": "2027-01-01T00:00:00Z", "to": "2037-01-01T00:00:00Z"},
    {"from": "2027-01-02T00:00:00Z", "to": "2027-01-01T00:00:00Z"},
    {"from": "yesterday"},
    {"status": "postponed"},
    {"limit": "0"},
    {"limit": "201"},
    {"after": "x"},
    {"after": "1", "before": "2"},
    {"after": "999"},
    {"before": "٣"},
])
def test_bad_list_queries(api, query):
    response = api.get("/sessions", STUDENT, query_string=query)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "validation_failed"


def test_path_ids_that_are_not_sessions_are_404(api):
    for path in ("/sessions/0", "/sessions/2147483648", "/sessions/١", "/sessions/999"):
        response = api.get(path, MENTOR)
        assert response.status_code == 404 and "error" in response.get_json()
