"""Blocks, notifications and broadcasts."""
from __future__ import annotations

import json

from tests.messaging.conftest import send


def open_direct(user, role, pid):
    return user.post("/conversations", json={"type": "direct", "participants": [{"role": role, "id": pid}]})


def test_block_stops_new_direct_and_sending_but_not_groups(as_, relationship):
    relationship(1, 2)
    mentor, student = as_("mentor", 1), as_("student", 2)
    cid = open_direct(mentor, "student", 2).get_json()["id"]
    group = mentor.post("/conversations", json={"type": "group", "title": "G", "participants": [
        {"role": "student", "id": 2}]}).get_json()["id"]
    r = student.post("/blocks", json={"role": "mentor", "id": 1})
    assert r.status_code == 201 and r.get_json()["principal"] == {"role": "mentor", "id": 1}
    assert student.post("/blocks", json={"role": "mentor", "id": 1}).status_code == 200
    assert student.get("/blocks").get_json()["blocks"][0]["principal"] == {"role": "mentor", "id": 1}
    r = mentor.post(f"/conversations/{cid}/messages", json={"body": "hi"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "blocked"
    r = student.post(f"/conversations/{cid}/messages", json={"body": "hi"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "blocked"
    assert send(mentor, group, "groups still work")
    # A new direct conversation is refused both ways (admin-created ones too when blocked).
    assert open_direct(as_("student", 2), "mentor", 1).status_code == 403
    assert student.post("/blocks", json={"role": "student", "id": 2}).status_code == 422
    assert student.delete("/blocks/mentor/1").status_code == 204
    assert student.delete("/blocks/mentor/1").status_code == 404
    assert student.delete("/blocks/wizard/1").status_code == 404
    assert send(mentor, cid, "hello again")


def test_direct_messages_notify_the_recipient(as_, events):
    admin, student = as_("admin", 1), as_("student", 5)
    cid = open_direct(admin, "student", 5).get_json()["id"]
    message = send(admin, cid, "private text")
    notes = student.get("/notifications").get_json()["notifications"]
    assert len(notes) == 1 and notes[0]["type"] == "message" and notes[0]["read_at"] is None
    assert notes[0]["data"]["message_id"] == message["id"] and notes[0]["body"] == "private text"
    assert admin.get("/notifications").get_json()["notifications"] == []
    created = events("student:5", "notification:created")
    assert len(created) == 1 and json.loads(created[0].data)["id"] == notes[0]["id"]
    assert student.get("/unread").get_json()["notifications"] == 1


def test_mark_notifications_read(as_):
    # Three conversations, so three notifications (messages of one conversation coalesce).
    student = as_("student", 5)
    cids = [open_direct(as_("admin", i), "student", 5).get_json()["id"] for i in (1, 2, 3)]
    for i, cid in enumerate(cids, start=1):
        send(as_("admin", i), cid, f"m{i}")
    notes = student.get("/notifications?unread=true").get_json()["notifications"]
    assert len(notes) == 3
    r = student.post("/notifications/read", json={"ids": [notes[0]["id"]]})
    assert r.get_json() == {"updated": 1, "unread": 2}
    assert len(student.get("/notifications?unread=true").get_json()["notifications"]) == 2
    assert len(student.get("/notifications?unread=false").get_json()["notifications"]) == 1
    # Someone else's ids change nothing.
    assert as_("student", 6).post("/notifications/read", json={"ids": [notes[1]["id"]]}).get_json()["updated"] == 0
    assert student.post("/notifications/read", json={"all": True}).get_json() == {"updated": 2, "unread": 0}
    assert student.post("/notifications/read", json={}).status_code == 422
    assert student.post("/notifications/read", json={"all": False}).status_code == 422


def test_broadcast_notifies_the_known_audience_and_hits_one_room(as_, relationship, mentorship, events):
    mentorship(1, 2)
    relationship(3, 4, status="declined")
    admin = as_("admin", 9)
    open_direct(as_("admin", 8), "student", 7)
    r = admin.post("/broadcasts", json={"audience": "students", "title": "Holiday", "body": "Closed Monday"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["recipients"] == 3 and body["audience"] == "students"
    for sid in (2, 4, 7):
        notes = as_("student", sid).get("/notifications").get_json()["notifications"]
        assert [(n["type"], n["title"], n["body"]) for n in notes] == [("broadcast", "Holiday", "Closed Monday")]
    assert as_("mentor", 1).get("/notifications").get_json()["notifications"] == []
    room_events = events("students", "broadcast:created")
    assert len(room_events) == 1 and json.loads(room_events[0].data)["title"] == "Holiday"
    everyone = admin.post("/broadcasts", json={"audience": "all", "title": "Hi", "body": "All"}).get_json()
    assert everyone["recipients"] == 6  # mentors 1, 3; students 2, 4, 7; admin 8 (not the sender)
    assert len(events("everyone", "broadcast:created")) == 1


def test_broadcast_is_admin_only_and_validated(as_):
    for who in (("mentor", 1), ("student", 1), ("service", 1)):
        r = as_(*who).post("/broadcasts", json={"audience": "all", "title": "x", "body": "y"})
        assert r.status_code == 403
    admin = as_("admin", 1)
    assert admin.post("/broadcasts", json={"audience": "nobody", "title": "x", "body": "y"}).status_code == 422
    assert admin.post("/broadcasts", json={"audience": "all", "title": "", "body": "y"}).status_code == 422
    assert admin.post("/broadcasts", json={"audience": "all", "title": "t", "body": "  "}).status_code == 422
