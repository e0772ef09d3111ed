"""Relationship lifecycle over the test client: transitions, who may do what, and 409 messages."""
from __future__ import annotations

import pytest

from tests.mentorship.conftest import ADMIN, MENTOR, OTHER_MENTOR, OTHER_STUDENT, STUDENT, events_by_room


def test_request_then_accept_opens_the_conversation(api, app):
    api.profile()
    api.needs()
    rel = api.request(message="Hello")
    assert rel["status"] == "pending" and rel["requested_by"] == "student"
    assert rel["request_message"] == "Hello"
    assert rel["match_score"] == 40 + 20 + 20  # sectors 1/1, skills 1/2, languages 1/1
    accepted = api.ok(api.post(f"/relationships/{rel['id']}/accept", MENTOR, json={"reason": "glad to"}))
    assert accepted["status"] == "active" and accepted["response_reason"] == "glad to"
    assert accepted["responded_at"]
    rooms = events_by_room(app)
    assert [t for t, _ in rooms["student:21"]] == [
        "relationship:requested", "activity:created",
        "conversation:created", "relationship:accepted", "activity:created", "notification:created",
    ]
    assert [t for t, _ in rooms["mentor:11"]] == [
        "relationship:requested", "activity:created", "notification:created",
        "conversation:created", "relationship:accepted", "activity:created",
    ]
    assert rooms["student:21"][2][1]["relationship_id"] == rel["id"]


def test_offer_by_a_mentor_is_answered_by_the_student(api):
    api.needs()
    rel = api.offer(message="I can help")
    assert rel["requested_by"] == "mentor"
    assert api.post(f"/relationships/{rel['id']}/accept", MENTOR).status_code == 403
    assert api.ok(api.post(f"/relationships/{rel['id']}/accept", STUDENT))["status"] == "active"


def test_accept_without_a_body(api):
    rel = api.pending()
    response = api.client.post(f"/api/v1/relationships/{rel['id']}/accept", headers=api.auth(*MENTOR))
    assert api.ok(response)["status"] == "active"


def test_decline_with_reason_and_cancel(api):
    rel = api.pending()
    declined = api.ok(api.post(f"/relationships/{rel['id']}/decline", MENTOR, json={"reason": "full"}))
    assert declined["status"] == "declined" and declined["response_reason"] == "full"
    again = api.request()
    assert api.ok(api.post(f"/relationships/{again['id']}/cancel", STUDENT))["status"] == "cancelled"


def test_end_records_who_when_and_why(api):
    rel = api.active()
    ended = api.ok(api.post(f"/relationships/{rel['id']}/end", STUDENT, json={"reason": "  done  "}))
    assert ended["status"] == "ended" and ended["end_reason"] == "  done  "
    assert ended["ended_by"] == {"role": "student", "id": 21} and ended["ended_at"]


def test_admin_ends_and_both_members_are_notified(api, app):
    rel = api.active()
    ended = api.ok(api.post(f"/relationships/{rel['id']}/end", ADMIN, json={"reason": "policy"}))
    assert ended["ended_by"] == {"role": "admin", "id": 1}
    rooms = events_by_room(app)
    for room in ("mentor:11", "student:21"):
        assert rooms[room][-1][0] == "notification:created"
        assert rooms[room][-1][1]["type"] == "relationship_ended"


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_end_needs_a_reason(api, reason):
    rel = api.active()
    body = {} if reason is None else {"reason": reason}
    response = api.post(f"/relationships/{rel['id']}/end", STUDENT, json=body)
    assert response.status_code == 422
    assert "reason" in response.get_json()["error"]["details"]


@pytest.mark.parametrize(
    "state, action, who",
    [
        ("active", "accept", MENTOR),
        ("active", "decline", MENTOR),
        ("active", "cancel", STUDENT),
        ("pending", "end", STUDENT),
        ("declined", "accept", MENTOR),
        ("cancelled", "cancel", STUDENT),
        ("ended", "end", MENTOR),
    ],
)
def test_wrong_state_is_409_saying_what_is_allowed(api, state, action, who):
    rel = api.pending()
    moves = {
        "active": [("accept", MENTOR)],
        "declined": [("decline", MENTOR)],
        "cancelled": [("cancel", STUDENT)],
        "ended": [("accept", MENTOR), ("end", STUDENT)],
    }.get(state, [])
    for move, mover in moves:
        api.ok(api.post(f"/relationships/{rel['id']}/{move}", mover, json={"reason": "x"}))
    response = api.post(f"/relationships/{rel['id']}/{action}", who, json={"reason": "x"})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "invalid_transition"
    assert f"is {state}" in error["message"] and "Allowed now" in error["message"]
    assert error["details"]["status"] == state
    assert error["details"]["allowed"] == {"pending": ["accept", "decline", "cancel"], "active": ["end"]}.get(state, [])


def test_a_second_pending_request_for_the_pair_is_409(api):
    api.pending()
    response = api.post("/relationships", STUDENT, json={"mentor_id": MENTOR[1]})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "request_already_pending"
    # The mentor offering to the same student is the same pair.
    api.needs()
    assert api.post("/relationships", MENTOR, json={"student_id": STUDENT[1]}).status_code == 409


def test_accepting_a_second_mentor_is_409(api):
    """Both requests were sent before either was accepted (a new one is refused up front)."""
    first = api.pending()
    rel = api.pending(mentor=OTHER_MENTOR)
    api.ok(api.post(f"/relationships/{first['id']}/accept", MENTOR))
    response = api.post(f"/relationships/{rel['id']}/accept", OTHER_MENTOR)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "student_has_active_mentor"
    assert api.ok(api.get(f"/relationships/{rel['id']}", STUDENT))["status"] == "pending"


def test_capacity_and_accepting_are_enforced(api):
    api.profile(max_mentees=1)
    first = api.request()
    api.ok(api.post(f"/relationships/{first['id']}/accept", MENTOR))
    full = api.post("/relationships", OTHER_STUDENT, json={"mentor_id": MENTOR[1]})
    assert full.status_code == 409 and full.get_json()["error"]["code"] == "mentor_at_capacity"
    # An offer made before the mentor was full cannot be accepted once full.
    api.needs(OTHER_STUDENT)
    api.profile(max_mentees=2)
    offer = api.offer(student=OTHER_STUDENT)
    api.profile(max_mentees=1)
    late = api.post(f"/relationships/{offer['id']}/accept", OTHER_STUDENT)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "mentor_at_capacity"
    api.profile(accepting=False, max_mentees=5)
    closed = api.post("/relationships", OTHER_STUDENT, json={"mentor_id": MENTOR[1]})
    assert closed.status_code == 409 and closed.get_json()["error"]["code"] == "mentor_not_accepting"


def test_default_capacity_comes_from_config(app, config, auth):
    """(`app` only so that its teardown cleans the database.)"""
    from api import create_app
    from tests.mentorship.conftest import Caller

    app = create_app(config.replace(default_max_mentees=1))
    api = Caller(app.test_client(), auth)
    profile = api.profile()
    assert profile["max_mentees"] is None and profile["capacity"] == 1
    api.active()
    refused = api.post("/relationships", OTHER_STUDENT, json={"mentor_id": MENTOR[1]})
    assert refused.get_json()["error"]["code"] == "mentor_at_capacity"


def test_listing_and_filters(api):
    first = api.pending()
    second = api.pending(student=OTHER_STUDENT)
    api.ok(api.post(f"/relationships/{second['id']}/decline", MENTOR))
    assert [r["id"] for r in api.items("/relationships", MENTOR)] == [second["id"], first["id"]]
    assert [r["id"] for r in api.items("/relationships?status=pending", MENTOR)] == [first["id"]]
    assert [r["id"] for r in api.items("/relationships", STUDENT)] == [first["id"]]
    assert api.items("/relationships", OTHER_MENTOR) == []
    assert [r["id"] for r in api.items("/relationships", ADMIN)] == [second["id"], first["id"]]
    assert [r["id"] for r in api.items(f"/relationships?student_id={OTHER_STUDENT[1]}", ADMIN)] == [second["id"]]
    assert [r["id"] for r in api.items(f"/relationships?before={second['id']}&limit=1", ADMIN)] == [first["id"]]


def test_listing_pages_with_next_before(api):
    ids = [api.pending(student=("student", 30 + i))["id"] for i in range(3)]
    page = api.ok(api.get("/relationships?limit=2", MENTOR))
    assert [r["id"] for r in page["relationships"]] == ids[:0:-1] and page["next_before"] == ids[1]
    last = api.ok(api.get(f"/relationships?limit=2&before={page['next_before']}", MENTOR))
    assert [r["id"] for r in last["relationships"]] == [ids[0]] and last["next_before"] is None
