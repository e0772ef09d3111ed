"""Authorization matrix: every messaging endpoint against members, outsiders,
other roles and no token at all."""
from __future__ import annotations

import pytest

from tests.messaging.conftest import send

MENTOR, STUDENT, OUTSIDER, OTHER_MENTOR, ADMIN, SERVICE = (
    ("mentor", 1), ("student", 2), ("student", 3), ("mentor", 4), ("admin", 5), ("service", 6)
)
ANON = None


@pytest.fixture
def world(as_, mentorship):
    cid = mentorship(1, 2)
    mentor = as_(*MENTOR)
    gid = mentor.post("/conversations", json={"type": "group", "title": "G", "participants": [
        {"role": "student", "id": 2}]}).get_json()["id"]
    mid = send(mentor, cid, "hello there")["id"]
    return {"cid": cid, "gid": gid, "mid": mid}


# (method, path template, json body, [(who, expected status), ...]). A service's
# writes are 403 `read_only_role` before any lookup (tests/test_roles.py walks them all).
MATRIX = [
    ("get", "/conversations", None, [(ANON, 401), (MENTOR, 200), (OUTSIDER, 200), (SERVICE, 200)]),
    ("post", "/conversations", {"type": "direct", "participants": [{"role": "student", "id": 2}]},
     [(ANON, 401), (MENTOR, 201), (OUTSIDER, 403), (OTHER_MENTOR, 403), (ADMIN, 201), (SERVICE, 403)]),
    ("post", "/conversations", {"type": "group", "title": "T", "participants": [{"role": "student", "id": 2}]},
     [(ANON, 401), (STUDENT, 403), (SERVICE, 403), (OTHER_MENTOR, 201), (ADMIN, 201)]),
    ("get", "/conversations/{cid}", None,
     [(ANON, 401), (MENTOR, 200), (STUDENT, 200), (OUTSIDER, 404), (OTHER_MENTOR, 404), (ADMIN, 404), (SERVICE, 404)]),
    ("post", "/conversations/{gid}/participants", {"participants": [{"role": "student", "id": 3}]},
     [(ANON, 401), (MENTOR, 200), (ADMIN, 200), (STUDENT, 403), (OUTSIDER, 404), (SERVICE, 403)]),
    ("delete", "/conversations/{gid}/participants/mentor/1", None,
     [(ANON, 401), (STUDENT, 403), (OUTSIDER, 404), (SERVICE, 403), (ADMIN, 200), (MENTOR, 200)]),
    ("post", "/conversations/{cid}/read", {"message_id": "{mid}"},
     [(ANON, 401), (STUDENT, 200), (OUTSIDER, 404), (ADMIN, 404), (SERVICE, 403)]),
    ("get", "/conversations/{cid}/messages", None,
     [(ANON, 401), (STUDENT, 200), (OUTSIDER, 404), (OTHER_MENTOR, 404), (ADMIN, 404), (SERVICE, 404)]),
    ("post", "/conversations/{cid}/messages", {"body": "hi"},
     [(ANON, 401), (STUDENT, 201), (OUTSIDER, 404), (ADMIN, 404), (SERVICE, 403)]),
    ("patch", "/messages/{mid}", {"body": "edited"},
     [(ANON, 401), (MENTOR, 200), (STUDENT, 403), (OUTSIDER, 404), (ADMIN, 403), (SERVICE, 403)]),
    ("delete", "/messages/{mid}", None,
     [(ANON, 401), (STUDENT, 403), (OUTSIDER, 404), (SERVICE, 403), (MENTOR, 200), (ADMIN, 200)]),
    ("get", "/unread", None, [(ANON, 401), (STUDENT, 200), (SERVICE, 200)]),
    ("get", "/messages/search?q=hello", None, [(ANON, 401), (STUDENT, 200), (OUTSIDER, 200)]),
    ("get", "/notifications", None, [(ANON, 401), (STUDENT, 200), (ADMIN, 200)]),
    ("post", "/notifications/read", {"all": True}, [(ANON, 401), (STUDENT, 200)]),
    ("get", "/blocks", None, [(ANON, 401), (STUDENT, 200)]),
    ("post", "/blocks", {"role": "mentor", "id": 1}, [(ANON, 401), (STUDENT, 201)]),
    ("delete", "/blocks/mentor/1", None, [(ANON, 401), (STUDENT, 404)]),
    ("post", "/broadcasts", {"audience": "all", "title": "t", "body": "b"},
     [(ANON, 401), (MENTOR, 403), (STUDENT, 403), (SERVICE, 403), (ADMIN, 201)]),
]
CASES = [
    pytest.param(method, path, body, who, status, id=f"{method} {path} {who[0] if who else 'anon'} -> {status}")
    for method, path, body, rows in MATRIX
    for who, status in rows
]


def _fill(value, ids):
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.mark.parametrize("method, path, body, who, status", CASES)
def test_authorization_matrix(client, auth, world, method, path, body, who, status):
    headers = auth(*who) if who else {}
    kwargs = {"json": _fill(body, world)} if body is not None else {}
    response = getattr(client, method)("/api/v1" + path.format(**world), headers=headers, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    if status >= 400:
        assert set(response.get_json()["error"]) == {"code", "message", "details"}


def test_refused_requests_change_nothing(as_, world, events):
    before = len(events())
    as_(*OUTSIDER).post(f"/conversations/{world['cid']}/messages", json={"body": "sneak"})
    as_(*STUDENT).patch(f"/messages/{world['mid']}", json={"body": "hijack"})
    as_(*STUDENT).delete(f"/messages/{world['mid']}")
    as_(*MENTOR).post("/broadcasts", json={"audience": "all", "title": "t", "body": "b"})
    assert len(events()) == before
    listed = as_(*MENTOR).get(f"/conversations/{world['cid']}/messages").get_json()["messages"]
    assert [m["body"] for m in listed] == ["hello there"]


@pytest.mark.parametrize("path", ["/conversations", "/broadcasts", "/blocks", "/notifications/read"])
def test_no_token_is_401_even_with_a_bad_body(client, path):
    response = client.post("/api/v1" + path, json={"nonsense": True})
    assert response.status_code == 401


def test_non_admin_is_403_even_with_a_bad_body(client, auth):
    response = client.post("/api/v1/broadcasts", json={"nonsense": True}, headers=auth("mentor", 1))
    assert response.status_code == 403
