"""Sending, listing, threads, idempotency, edit and soft delete."""
from __future__ import annotations

import datetime as dt

from api.extensions import db
from shared.models import Message
from tests.messaging.conftest import send


def test_send_stores_the_body_exactly_and_returns_it_as_text(as_, mentorship):
    cid = mentorship(1, 2)
    mentor = as_("mentor", 1)
    body = "  <script>alert('x')</script> & ü 😀 \n"
    response = mentor.post(f"/conversations/{cid}/messages", json={"body": body})
    assert response.status_code == 201
    message = response.get_json()
    assert message["body"] == body
    assert message["sender"] == {"role": "mentor", "id": 1}
    assert set(message) == {"id", "conversation_id", "sender", "body", "parent_id", "reply_count",
                            "client_msg_id", "created_at", "edited_at", "deleted_at", "reactions", "attachments"}
    assert response.headers["Content-Type"].startswith("application/json")
    listed = mentor.get(f"/conversations/{cid}/messages").get_json()["messages"]
    assert listed[0]["body"] == body


def test_body_length_is_checked_after_trimming(as_, mentorship, config):
    cid = mentorship(1, 2)
    mentor = as_("mentor", 1)
    for bad in ["", "   \n\t "]:
        r = mentor.post(f"/conversations/{cid}/messages", json={"body": bad})
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "body_empty"
    limit = config.message_max_chars
    assert mentor.post(f"/conversations/{cid}/messages", json={"body": " " + "x" * limit + " "}).status_code == 201
    r = mentor.post(f"/conversations/{cid}/messages", json={"body": "x" * (limit + 1)})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "body_too_long"


def test_idempotent_retry_returns_the_original(as_, mentorship, events):
    cid = mentorship(1, 2)
    student = as_("student", 2)
    first = student.post(f"/conversations/{cid}/messages", json={"body": "once", "client_msg_id": "abc-1"})
    again = student.post(f"/conversations/{cid}/messages", json={"body": "once", "client_msg_id": "abc-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json()
    assert len(student.get(f"/conversations/{cid}/messages").get_json()["messages"]) == 1
    assert len(events(f"conversation:{cid}", "message:created")) == 1
    # Another sender may use the same key.
    assert as_("mentor", 1).post(
        f"/conversations/{cid}/messages", json={"body": "x", "client_msg_id": "abc-1"}
    ).status_code == 201


def test_client_msg_id_reused_in_another_conversation_is_a_conflict(as_, mentorship):
    a, b = mentorship(1, 2), mentorship(3, 4)
    assert a and b
    admin = as_("admin", 9)
    d1 = admin.post("/conversations", json={"type": "direct", "participants": [{"role": "mentor", "id": 1}]})
    d2 = admin.post("/conversations", json={"type": "direct", "participants": [{"role": "mentor", "id": 3}]})
    send(admin, d1.get_json()["id"], client_msg_id="k")
    r = admin.post(f"/conversations/{d2.get_json()['id']}/messages", json={"body": "x", "client_msg_id": "k"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "client_msg_id_reused"


def test_thread_replies_count_on_the_parent(as_, mentorship):
    cid, other = mentorship(1, 2), mentorship(3, 4)
    mentor = as_("mentor", 1)
    parent = send(mentor, cid, "question")
    reply = send(as_("student", 2), cid, "answer", parent_id=parent["id"])
    assert reply["parent_id"] == parent["id"]
    listed = {m["id"]: m for m in mentor.get(f"/conversations/{cid}/messages").get_json()["messages"]}
    assert listed[parent["id"]]["reply_count"] == 1
    foreign = send(as_("mentor", 3), other, "elsewhere")
    r = mentor.post(f"/conversations/{cid}/messages", json={"body": "x", "parent_id": foreign["id"]})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "parent_not_found"
    r = mentor.post(f"/conversations/{cid}/messages", json={"body": "x", "parent_id": 10**12})
    assert r.status_code == 422


def test_id_cursor_pages_are_stable_while_messages_arrive(as_, mentorship):
    cid = mentorship(1, 2)
    mentor = as_("mentor", 1)
    ids = [send(mentor, cid, f"m{i}")["id"] for i in range(7)]
    page = mentor.get(f"/conversations/{cid}/messages?limit=3").get_json()
    assert [m["id"] for m in page["messages"]] == ids[::-1][:3] and page["has_more"]
    send(mentor, cid, "new one arrives")
    page2 = mentor.get(f"/conversations/{cid}/messages?limit=3&before={page['messages'][-1]['id']}").get_json()
    assert [m["id"] for m in page2["messages"]] == ids[::-1][3:6]
    forward = mentor.get(f"/conversations/{cid}/messages?after={ids[4]}&limit=10").get_json()
    assert [m["id"] for m in forward["messages"]][:2] == ids[5:7] and forward["order"] == "asc"
    window = mentor.get(f"/conversations/{cid}/messages?after={ids[1]}&before={ids[5]}").get_json()
    assert [m["id"] for m in window["messages"]] == ids[2:5][::-1]
    assert len(mentor.get(f"/conversations/{cid}/messages").get_json()["messages"]) == 8
    for bad in ["limit=0", "limit=101", "before=abc", "after=-1", "before=99999999999999999999999"]:
        assert mentor.get(f"/conversations/{cid}/messages?{bad}").status_code == 422, bad


def test_edit_by_sender_within_the_window(as_, mentorship, app):
    cid = mentorship(1, 2)
    mentor, student = as_("mentor", 1), as_("student", 2)
    message = send(mentor, cid, "typo")
    r = mentor.patch(f"/messages/{message['id']}", json={"body": "fixed"})
    assert r.status_code == 200 and r.get_json()["body"] == "fixed" and r.get_json()["edited_at"]
    r = student.patch(f"/messages/{message['id']}", json={"body": "hijack"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_sender"
    with app.app_context():
        row = db.session.get(Message, message["id"])
        row.created_at -= dt.timedelta(minutes=16)
        db.session.commit()
    r = mentor.patch(f"/messages/{message['id']}", json={"body": "too late"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "edit_window_passed"


def test_edit_window_is_configurable(config, client, auth, app, mentorship):
    app.extensions["app_config"].message_edit_window_seconds = 0
    cid = mentorship(1, 2)
    headers = auth("mentor", 1)
    message = client.post(f"/api/v1/conversations/{cid}/messages", json={"body": "x"}, headers=headers).get_json()
    r = client.patch(f"/api/v1/messages/{message['id']}", json={"body": "y"}, headers=headers)
    assert r.status_code == 403


def test_soft_delete_hides_the_body_everywhere(as_, mentorship):
    cid = mentorship(1, 2)
    mentor, student, admin = as_("mentor", 1), as_("student", 2), as_("admin", 5)
    keep = send(mentor, cid, "keep this")
    gone = send(mentor, cid, "secret words here")
    assert student.delete(f"/messages/{gone['id']}").status_code == 403
    r = mentor.delete(f"/messages/{gone['id']}")
    assert r.status_code == 200 and r.get_json()["body"] is None and r.get_json()["deleted_at"]
    listed = {m["id"]: m for m in student.get(f"/conversations/{cid}/messages").get_json()["messages"]}
    assert listed[gone["id"]]["body"] is None and listed[keep["id"]]["body"] == "keep this"
    conv = student.get(f"/conversations/{cid}").get_json()
    assert conv["last_message"]["id"] == gone["id"] and conv["last_message"]["body"] is None
    assert mentor.patch(f"/messages/{gone['id']}", json={"body": "again"}).status_code == 409
    # Admins moderate any message, even outside the conversation.
    assert admin.delete(f"/messages/{keep['id']}").status_code == 200
    assert mentor.delete(f"/messages/{gone['id']}").status_code == 200  # again: no-op


def test_sending_moves_the_senders_marker(as_, mentorship):
    cid = mentorship(1, 2)
    mentor = as_("mentor", 1)
    message = send(mentor, cid)
    parts = {(p["role"], p["id"]): p for p in mentor.get(f"/conversations/{cid}").get_json()["participants"]}
    assert parts[("mentor", 1)]["last_read_message_id"] == message["id"]
    assert parts[("student", 2)]["last_read_message_id"] is None
