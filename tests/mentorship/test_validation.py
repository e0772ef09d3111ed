"""Bad input of every kind: a clear 4xx with the error shape, never a 500, and nothing changes."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.extensions import db
from shared.models import Activity, Event, Goal, MentorProfile, Relationship, StudentNeeds
from tests.mentorship.conftest import MENTOR, STUDENT


def counts(app):
    with app.app_context():
        out = {
            m.__tablename__: db.session.execute(select(func.count()).select_from(m)).scalar()
            for m in (Event, Relationship, Goal, Activity, MentorProfile, StudentNeeds)
        }
        db.session.remove()
    return out


@pytest.fixture
def world(api):
    rel = api.active()
    return {"rel": rel["id"], "goal": api.goal(rel)["id"]}


BAD = [
    # (who, method, path, body, status, field in details or error code)
    (STUDENT, "POST", "/relationships", {"mentor_id": 11, "extra": 1}, 422, "extra"),
    (STUDENT, "POST", "/relationships", {"mentor_id": "11"}, 422, "mentor_id"),
    (STUDENT, "POST", "/relationships", {"mentor_id": True}, 422, "mentor_id"),
    (STUDENT, "POST", "/relationships", {"mentor_id": 0}, 422, "mentor_id"),
    (STUDENT, "POST", "/relationships", {"mentor_id": 2**40}, 422, "mentor_id"),
    (STUDENT, "POST", "/relationships", {}, 422, "mentor_id"),
    (STUDENT, "POST", "/relationships", {"student_id": 21}, 422, "student_id"),
    (STUDENT, "POST", "/relationships", {"mentor_id": 999}, 422, "mentor_id"),  # no such mentor
    (MENTOR, "POST", "/relationships", {"student_id": 999}, 422, "student_id"),  # no such student
    (MENTOR, "POST", "/relationships", {"student_id": 21, "mentor_id": 11}, 422, "mentor_id"),
    (STUDENT, "POST", "/relationships", {"mentor_id": 11, "message": "x" * 2001}, 422, "message"),
    (STUDENT, "POST", "/relationships", [1, 2], 422, None),
    (STUDENT, "GET", "/relationships?status=weird", None, 422, "status"),
    (STUDENT, "GET", "/relationships?limit=0", None, 422, "limit"),
    (STUDENT, "GET", "/relationships?before=abc", None, 422, "before"),
    (STUDENT, "POST", "/relationships/{rel}/end", {"reason": 5}, 422, "reason"),
    (STUDENT, "POST", "/relationships/{rel}/end", {"reason": "x", "why": "y"}, 422, "why"),
    (MENTOR, "POST", "/relationships/{rel}/accept", {"note": "x"}, 422, "note"),
    (STUDENT, "POST", "/relationships/{rel}/goals", {}, 422, "title"),
    (STUDENT, "POST", "/relationships/{rel}/goals", {"title": ""}, 422, "title"),
    (STUDENT, "POST", "/relationships/{rel}/goals", {"title": "   "}, 422, "title"),
    (STUDENT, "POST", "/relationships/{rel}/goals", {"title": "x" * 201}, 422, "title"),
    (STUDENT, "POST", "/relationships/{rel}/goals", {"title": "x", "status": "done"}, 422, "status"),
    (STUDENT, "POST", "/relationships/{rel}/goals", {"title": "x", "priority": "urgent"}, 422, "priority"),
    (STUDENT, "POST", "/relationships/{rel}/goals", {"title": "x", "progress": 101}, 422, "progress"),
    (STUDENT, "POST", "/relationships/{rel}/goals", {"title": "x", "progress": "50"}, 422, "progress"),
    (STUDENT, "POST", "/relationships/{rel}/goals", {"title": "x", "target_date": "31/01/2030"}, 422, "target_date"),
    (STUDENT, "POST", "/relationships/{rel}/goals", {"title": "x", "owner": 1}, 422, "owner"),
    (STUDENT, "PATCH", "/goals/{goal}", {}, 422, "_schema"),
    (STUDENT, "PATCH", "/goals/{goal}", {"progress": -1}, 422, "progress"),
    (STUDENT, "PATCH", "/goals/{goal}", {"relationship_id": 5}, 422, "relationship_id"),
    (STUDENT, "POST", "/relationships/{rel}/activities", {"text": ""}, 422, "text"),
    (STUDENT, "POST", "/relationships/{rel}/activities", {"text": "x", "kind": "goal_created"}, 422, "kind"),
    (STUDENT, "GET", "/relationships/{rel}/activities?before=5&after=1", None, 422, "_schema"),
    (STUDENT, "GET", "/relationships/{rel}/activities?limit=101", None, 422, "limit"),
    (STUDENT, "GET", "/matches?limit=1000", None, 422, "limit"),
    (MENTOR, "PUT", "/mentors/me/profile", {"skills": "python"}, 422, "skills"),
    (MENTOR, "PUT", "/mentors/me/profile", {"skills": ["a", "A"]}, 422, "skills"),
    (MENTOR, "PUT", "/mentors/me/profile", {"skills": [""]}, 422, "skills"),
    (MENTOR, "PUT", "/mentors/me/profile", {"skills": [1]}, 422, "skills"),
    (MENTOR, "PUT", "/mentors/me/profile", {"max_mentees": -1}, 422, "max_mentees"),
    (MENTOR, "PUT", "/mentors/me/profile", {"accepting": "maybe"}, 422, "accepting"),
    (MENTOR, "PUT", "/mentors/me/profile", {"biography": "x"}, 422, "biography"),
    (STUDENT, "PUT", "/students/me/needs", {"languages": ["x" * 101]}, 422, "languages"),
    (STUDENT, "PUT", "/students/me/needs", {"goals": 3}, 422, "goals"),
    (STUDENT, "GET", "/relationships/99999999999999999999", None, 404, "not_found"),
    (STUDENT, "PATCH", "/goals/99999999999999999999", {"progress": 1}, 404, "not_found"),
]


@pytest.mark.parametrize("who, method, path, body, status, where", BAD, ids=lambda v: None)
def test_bad_input_is_refused_cleanly(api, app, world, who, method, path, body, status, where):
    before = counts(app)
    kwargs = {} if body is None else {"json": body}
    response = api.call(method, path.format(**world), who, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    if status == 422 and where:
        assert where in error["details"].get("query", error["details"]), error
    elif where:
        assert error["code"] == where
    assert counts(app) == before


def test_malformed_json_is_400(api, world):
    response = api.client.post(
        f"/api/v1/relationships/{world['rel']}/goals", data="{oops", content_type="application/json",
        headers=api.auth(*STUDENT),
    )
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "malformed_json"


def test_profile_put_is_a_full_replace_and_trims(api):
    api.profile(skills=[" Python "], max_mentees=3, accepting=False)
    profile = api.ok(api.put("/mentors/me/profile", MENTOR, json={"sectors": ["Tech"]}))
    assert profile["skills"] == [] and profile["max_mentees"] is None and profile["accepting"] is True
    assert profile["capacity"] == 5 and profile["active_mentees"] == 0
    assert api.ok(api.get("/mentors/me/profile", MENTOR))["sectors"] == ["Tech"]
    assert api.profile(skills=[" Python "])["skills"] == ["Python"]


def test_missing_profile_and_needs_are_404(api):
    assert api.get("/mentors/me/profile", MENTOR).get_json()["error"]["code"] == "profile_not_found"
    assert api.get("/students/me/needs", STUDENT).get_json()["error"]["code"] == "needs_not_found"
