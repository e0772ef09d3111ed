"""The issue's "done when" journey over real HTTP with real tokens, on MariaDB."""
from __future__ import annotations

import datetime as dt

import pytest

from api.extensions import db
from shared.models import Message

pytestmark = pytest.mark.mysql


def test_mentor_and_student_exchange_messages(live_server, http, token, mentorship, app):
    cid = mentorship(10, 20)
    api = live_server + "/api/v1"

    def call(method, who, path, **kwargs):
        headers = {"Authorization": f"Bearer {token(*who)}"}
        response = http.request(method, api + path, headers=headers, timeout=10, **kwargs)
        return response.status_code, response.json() if response.content else None

    mentor, student, stranger = ("mentor", 10), ("student", 20), ("student", 30)
    listed = call("GET", student, "/conversations")[1]["conversations"]
    assert [c["id"] for c in listed] == [cid] and listed[0]["type"] == "mentorship"
    assert call("GET", student, "/unread")[1]["total"] == 0

    # The mentor writes three messages; one is retried with the same client_msg_id.
    sent = []
    for i in range(3):
        status, message = call("POST", mentor, f"/conversations/{cid}/messages",
                               json={"body": f"Welcome note {i} about the portfolio", "client_msg_id": f"c{i}"})
        assert status == 201
        sent.append(message)
    status, retry = call("POST", mentor, f"/conversations/{cid}/messages",
                         json={"body": "Welcome note 2 about the portfolio", "client_msg_id": "c2"})
    assert status == 200 and retry["id"] == sent[2]["id"]
    assert call("GET", student, "/unread")[1] == {
        "total": 3, "conversations": [{"id": cid, "unread": 3}], "notifications": 1
    }
    note = call("GET", student, "/notifications")[1]["notifications"]
    assert [(n["type"], n["count"], n["data"]["message_id"]) for n in note] == [("message", 3, sent[2]["id"])]

    # The student reads up to the last one (which clears the notification too) and answers.
    status, marker = call("POST", student, f"/conversations/{cid}/read", json={"message_id": sent[2]["id"]})
    assert status == 200 and marker["last_read_message_id"] == sent[2]["id"]
    assert call("GET", student, "/unread")[1] == {"total": 0, "conversations": [], "notifications": 0}
    status, reply = call("POST", student, f"/conversations/{cid}/messages",
                         json={"body": "Thanks!", "parent_id": sent[0]["id"]})
    assert status == 201 and reply["parent_id"] == sent[0]["id"]
    page = call("GET", mentor, f"/conversations/{cid}/messages")[1]["messages"]
    assert len(page) == 4 and {m["id"]: m for m in page}[sent[0]["id"]]["reply_count"] == 1

    # An edit after the window is refused.
    with app.app_context():
        db.session.get(Message, sent[1]["id"]).created_at -= dt.timedelta(minutes=20)
        db.session.commit()
    status, error = call("PATCH", mentor, f"/messages/{sent[1]['id']}", json={"body": "changed"})
    assert status == 403 and error["error"]["code"] == "edit_window_passed"

    # A deleted message vanishes from the list and from search.
    found = call("GET", student, "/messages/search?q=portfolio")[1]["messages"]
    assert sent[1]["id"] in [m["id"] for m in found]
    assert call("DELETE", mentor, f"/messages/{sent[1]['id']}")[0] == 200
    page = {m["id"]: m for m in call("GET", student, f"/conversations/{cid}/messages")[1]["messages"]}
    assert page[sent[1]["id"]]["body"] is None
    found = call("GET", student, "/messages/search?q=portfolio")[1]["messages"]
    assert sent[1]["id"] not in [m["id"] for m in found] and len(found) == 2

    # An unrelated student sees nothing of it.
    assert call("GET", stranger, f"/conversations/{cid}")[0] == 404
    assert call("GET", stranger, f"/conversations/{cid}/messages")[0] == 404
    assert call("GET", stranger, "/messages/search?q=portfolio")[1]["messages"] == []
    assert call("GET", stranger, "/conversations")[1]["conversations"] == []
