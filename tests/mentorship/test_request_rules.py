"""Rules checked when a request or offer is made, not only at accept: a
student with an active mentor neither sends nor receives one, and a mentor
who is full (or, for requests, not accepting) gets none. A refusal writes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.extensions import db
from shared.models import Relationship
from tests.mentorship.conftest import MENTOR, OTHER_MENTOR, OTHER_STUDENT, STUDENT, events_by_room


def refused(response, code):
    assert response.status_code == 409, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == code


def relationship_count(app):
    with app.app_context():
        try:
            return db.session.execute(select(func.count()).select_from(Relationship)).scalar()
        finally:
            db.session.remove()


def test_a_student_with_an_active_mentor_cannot_request_another(api, app):
    api.active()
    api.profile(OTHER_MENTOR)
    before, logged = relationship_count(app), events_by_room(app)
    refused(api.post("/relationships", STUDENT, json={"mentor_id": OTHER_MENTOR[1]}), "student_has_active_mentor")
    assert relationship_count(app) == before and events_by_room(app) == logged


def test_a_mentor_cannot_offer_to_a_student_who_has_an_active_mentor(api, app):
    api.needs()
    api.active()
    api.profile(OTHER_MENTOR)
    before = relationship_count(app)
    refused(api.post("/relationships", OTHER_MENTOR, json={"student_id": STUDENT[1]}), "student_has_active_mentor")
    assert relationship_count(app) == before


def test_after_the_mentorship_ends_the_student_may_request_again(api):
    rel = api.active()
    api.ok(api.post(f"/relationships/{rel['id']}/end", STUDENT, json={"reason": "done"}))
    api.profile(OTHER_MENTOR)
    assert api.request(mentor=OTHER_MENTOR)["status"] == "pending"


def test_a_full_mentor_can_neither_be_requested_nor_offer(api):
    api.needs(OTHER_STUDENT)
    api.active()
    api.profile(max_mentees=1)
    refused(api.post("/relationships", OTHER_STUDENT, json={"mentor_id": MENTOR[1]}), "mentor_at_capacity")
    refused(api.post("/relationships", MENTOR, json={"student_id": OTHER_STUDENT[1]}), "mentor_at_capacity")


def test_a_mentor_not_accepting_requests_may_still_offer(api):
    api.needs()
    api.profile(accepting=False)
    refused(api.post("/relationships", STUDENT, json={"mentor_id": MENTOR[1]}), "mentor_not_accepting")
    offer = api.offer()
    assert api.ok(api.post(f"/relationships/{offer['id']}/accept", STUDENT))["status"] == "active"


def test_unknown_parties_are_still_422_before_any_409(api):
    api.active()
    response = api.post("/relationships", STUDENT, json={"mentor_id": 999})
    assert response.status_code == 422 and "mentor_id" in response.get_json()["error"]["details"]


@pytest.mark.mysql
def test_requests_racing_an_accept_never_give_a_second_active_mentor(live, app):
    """The request-time check is advisory: requests sent while the student's
    first request is being accepted are either refused up front or stay
    pending and are refused at accept; the student ends with one mentor."""
    mentors = [("mentor", 100 + i) for i in range(6)]
    for mentor in mentors:
        live.ok("PUT", "/mentors/me/profile", mentor, {})
    first = live.ok("POST", "/relationships", STUDENT, {"mentor_id": mentors[0][1]}, status=201)
    calls = [("POST", f"/relationships/{first['id']}/accept", mentors[0], None)]
    calls += [("POST", "/relationships", STUDENT, {"mentor_id": m[1]}) for m in mentors[1:]]
    results = live.race(calls)
    assert results[0][0] == 200
    late = [body for code, body in results[1:] if code == 201]
    assert all(code in (201, 409) for code, _ in results[1:])
    assert all(body["error"]["code"] == "student_has_active_mentor" for code, body in results[1:] if code == 409)
    for rel in late:
        code, body = live.call("POST", f"/relationships/{rel['id']}/accept", ("mentor", rel["mentor_id"]))
        assert (code, body["error"]["code"]) == (409, "student_has_active_mentor")
    with app.app_context():
        active = select(func.count()).select_from(Relationship).where(
            Relationship.student_id == STUDENT[1], Relationship.status == "active")
        assert db.session.execute(active).scalar() == 1
        db.session.remove()
