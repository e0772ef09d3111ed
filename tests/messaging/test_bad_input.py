"""Bad input of every kind gets a clear 4xx, never a 500."""
from __future__ import annotations

import pytest

BIG = 10**30


@pytest.fixture
def cid(mentorship):
    return mentorship(1, 2)


BAD_REQUESTS = [
    ("post", "/conversations", {"type": "triangle", "participants": [{"role": "student", "id": 2}]}),
    ("post", "/conversations", {"type": "direct", "participants": []}),
    ("post", "/conversations", {"type": "direct", "participants": [{"role": "wizard", "id": 2}]}),
    ("post", "/conversations", {"type": "direct", "participants": [{"role": "student", "id": BIG}]}),
    ("post", "/conversations", {"type": "direct", "participants": [{"role": "student", "id": "2"}]}),
    ("post", "/conversations", {"type": "direct", "participants": "everyone"}),
    ("post", "/conversations", {"type": "group", "title": "\ud800", "participants": [{"role": "student", "id": 2}]}),
    ("post", "/conversations", {"type": "group", "title": "x" * 201, "participants": [{"role": "student", "id": 2}]}),
    ("post", "/conversations", {"type": "direct", "participants": [{"role": "student", "id": 2}], "extra": 1}),
    ("post", "/conversations/{cid}/messages", {}),
    ("post", "/conversations/{cid}/messages", {"body": None}),
    ("post", "/conversations/{cid}/messages", {"body": 12}),
    ("post", "/conversations/{cid}/messages", {"body": "\ud800 lone surrogate"}),
    ("post", "/conversations/{cid}/messages", {"body": "x", "parent_id": BIG}),
    ("post", "/conversations/{cid}/messages", {"body": "x", "parent_id": -1}),
    ("post", "/conversations/{cid}/messages", {"body": "x", "client_msg_id": "k" * 65}),
    ("post", "/conversations/{cid}/messages", {"body": "x", "client_msg_id": ""}),
    ("post", "/conversations/{cid}/messages", {"body": "x" * 20_000}),
    ("post", "/conversations/{cid}/read", {"message_id": BIG}),
    ("post", "/conversations/{cid}/read", {"message_id": "1"}),
    ("post", "/conversations/{cid}/read", {}),
    ("post", "/conversations/{cid}/participants", {"participants": [{"role": "student"}]}),
    ("get", "/conversations?limit=-5", None),
    ("get", "/conversations?limit=abc", None),
    ("get", "/conversations?before=1_2_3", None),
    ("get", f"/conversations/{BIG}", None),
    ("get", f"/conversations/{BIG}/messages", None),
    ("get", "/conversations/{cid}/messages?before=" + str(BIG), None),
    ("patch", f"/messages/{BIG}", {"body": "x"}),
    ("delete", f"/messages/{BIG}", None),
    ("get", "/messages/search", None),
    ("get", "/messages/search?q=%00%00%00", None),
    ("get", "/notifications?unread=maybe", None),
    ("get", "/notifications?before=0", None),
    ("post", "/notifications/read", {"ids": ["a"]}),
    ("post", "/notifications/read", {"ids": [BIG]}),
    ("post", "/blocks", {"role": "student"}),
    ("post", "/blocks", {"role": "student", "id": BIG}),
    ("delete", f"/blocks/student/{BIG}", None),
    ("post", "/broadcasts", {"audience": "all", "title": "t", "body": "\ud800"}),
]


@pytest.mark.parametrize("method, path, body", BAD_REQUESTS, ids=[f"{m} {p} {b!r:.40}" for m, p, b in BAD_REQUESTS])
def test_bad_input_is_a_clear_4xx(client, auth, cid, method, path, body):
    role = "admin" if path == "/broadcasts" else "mentor"
    kwargs = {"json": body} if body is not None else {}
    response = getattr(client, method)("/api/v1" + path.format(cid=cid), headers=auth(role, 1), **kwargs)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert set(response.get_json()["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"body"', b"\xff\xfe"])
def test_malformed_bodies_are_4xx(client, auth, cid, raw):
    response = client.post(
        f"/api/v1/conversations/{cid}/messages",
        data=raw,
        headers={**auth("mentor", 1), "Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
