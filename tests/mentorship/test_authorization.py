"""Every mentorship endpoint against the member, the other member, an
unrelated student, an unrelated mentor and an admin. A refusal changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.extensions import db
from shared.models import Event
from tests.mentorship.conftest import ADMIN, MENTOR, OTHER_MENTOR, OTHER_STUDENT, STUDENT

WHO = {
    "student member": STUDENT,
    "mentor member": MENTOR,
    "unrelated student": OTHER_STUDENT,
    "unrelated mentor": OTHER_MENTOR,
    "admin": ADMIN,
}
ORDER = list(WHO)


def body_for(role):
    """POST /relationships: a student names a mentor, a mentor a student."""
    return {"mentor_id": MENTOR[1]} if role == "student" else {"student_id": STUDENT[1]}


# (endpoint, state to build, method, path, body, expected status per principal in ORDER)
MATRIX = [
    ("put profile", "profiles", "PUT", "/mentors/me/profile", {"skills": ["x"]}, (403, 200, 403, 200, 403)),
    ("get profile", "profiles", "GET", "/mentors/me/profile", None, (403, 200, 403, 200, 403)),
    ("put needs", "profiles", "PUT", "/students/me/needs", {"skills": ["x"]}, (200, 403, 200, 403, 403)),
    ("get needs", "profiles", "GET", "/students/me/needs", None, (200, 403, 200, 403, 403)),
    ("matches", "profiles", "GET", "/matches", None, (200, 200, 200, 200, 403)),
    ("mentor directory", "profiles", "GET", "/mentors", None, (200, 200, 200, 200, 200)),
    ("student directory", "profiles", "GET", "/students", None, (403, 200, 403, 200, 200)),
    ("audit", "active", "GET", "/audit?entity=relationship&id={rel}", None, (403, 403, 403, 403, 200)),
    ("create", "profiles", "POST", "/relationships", body_for, (201, 201, 201, 201, 403)),
    ("list", "active", "GET", "/relationships", None, (200, 200, 200, 200, 200)),
    ("get", "active", "GET", "/relationships/{rel}", None, (200, 200, 404, 404, 200)),
    ("accept", "pending", "POST", "/relationships/{rel}/accept", {}, (403, 200, 404, 404, 403)),
    ("decline", "pending", "POST", "/relationships/{rel}/decline", {}, (403, 200, 404, 404, 403)),
    ("cancel", "pending", "POST", "/relationships/{rel}/cancel", {}, (200, 403, 404, 404, 403)),
    ("end", "active", "POST", "/relationships/{rel}/end", {"reason": "r"}, (200, 200, 404, 404, 200)),
    ("list goals", "active", "GET", "/relationships/{rel}/goals", None, (200, 200, 404, 404, 200)),
    ("create goal", "active", "POST", "/relationships/{rel}/goals", {"title": "t"}, (201, 201, 404, 404, 403)),
    ("update goal", "active", "PATCH", "/goals/{goal}", {"progress": 5}, (200, 200, 404, 404, 403)),
    ("delete goal", "active", "DELETE", "/goals/{goal}", None, (204, 204, 404, 404, 403)),
    ("list activities", "active", "GET", "/relationships/{rel}/activities", None, (200, 200, 404, 404, 200)),
    ("add note", "active", "POST", "/relationships/{rel}/activities", {"text": "n"}, (201, 201, 404, 404, 403)),
]
CASES = [
    pytest.param(row, who, expected, id=f"{row[0]}-{who}")
    for row in MATRIX
    for who, expected in zip(ORDER, row[5], strict=True)
]


def build(api, state):
    api.profile(MENTOR)
    api.profile(OTHER_MENTOR)
    api.needs(STUDENT)
    api.needs(OTHER_STUDENT)
    ids = {}
    if state == "pending":
        ids["rel"] = api.request()["id"]
    elif state == "active":
        rel = api.active()
        ids["rel"], ids["goal"] = rel["id"], api.goal(rel)["id"]
    return ids


def event_count(app):
    with app.app_context():
        count = db.session.execute(select(func.count()).select_from(Event)).scalar()
        db.session.remove()
    return count


@pytest.mark.parametrize("row, who, expected", CASES)
def test_authorization_matrix(api, app, row, who, expected):
    _, state, method, path, body, _ = row
    ids = build(api, state)
    principal = WHO[who]
    if callable(body):
        body = body(principal[0])
    before = event_count(app)
    kwargs = {} if body is None else {"json": body}
    response = api.call(method, path.format(**ids), principal, **kwargs)
    assert response.status_code == expected, response.get_data(as_text=True)
    if expected >= 400:
        assert response.get_json()["error"]["code"]
        assert event_count(app) == before, "a refused call wrote events"


@pytest.mark.parametrize("who, sees", [
    ("student member", True), ("mentor member", True), ("unrelated student", False),
    ("unrelated mentor", False), ("admin", True),
])
def test_listing_shows_only_what_the_caller_may_see(api, who, sees):
    ids = build(api, "active")
    listed = [r["id"] for r in api.items("/relationships", WHO[who])]
    assert (ids["rel"] in listed) is sees


def test_unknown_relationship_and_goal_are_404(api):
    for method, path in [("GET", "/relationships/999999"), ("POST", "/relationships/999999/accept"),
                         ("GET", "/relationships/999999/goals"), ("PATCH", "/goals/999999"),
                         ("DELETE", "/goals/999999"), ("GET", "/relationships/999999/activities")]:
        response = api.call(method, path, ADMIN, json={"progress": 1} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path)


def test_no_token_is_401_everywhere(client):
    for method, path in [(m, p.format(rel=1, goal=1)) for _, _, m, p, _, _ in MATRIX]:
        assert client.open("/api/v1" + path, method=method, json={}).status_code == 401, (method, path)
