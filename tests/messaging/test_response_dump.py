"""The compiled dump of the response schemas (api.schemas.OutSchema) writes
exactly what marshmallow's own dump of the same schemas writes."""
from __future__ import annotations

import marshmallow as ma

from api.schemas import OutSchema
from tests.messaging.conftest import send


def test_compiled_dump_matches_marshmallow(as_, mentorship, monkeypatch):
    cid = mentorship(11, 21)
    mentor, student, admin = as_("mentor", 11), as_("student", 21), as_("admin", 1)
    first = send(mentor, cid, "hello there")
    send(student, cid, "a reply", parent_id=first["id"], client_msg_id="c-1")
    deleted = send(student, cid, "gone soon")
    assert student.delete(f"/messages/{deleted['id']}").status_code == 200
    student.post(f"/conversations/{cid}/read", json={"message_id": first["id"]})
    student.post("/blocks", json={"role": "mentor", "id": 99})
    group = admin.post("/conversations", json={"type": "group", "title": "g", "participants": [
        {"role": "student", "id": 21}]}).get_json()
    paths = [
        "/conversations", f"/conversations/{cid}", f"/conversations/{group['id']}",
        f"/conversations/{cid}/messages", "/messages/search?q=reply", "/unread", "/notifications", "/blocks",
        "/events", "/relationships", "/me",
    ]
    compiled = {path: student.get(path).get_json() for path in paths}
    monkeypatch.setattr(OutSchema, "dump", ma.Schema.dump)
    reference = {path: student.get(path).get_json() for path in paths}
    assert compiled == reference
    assert [list(c) for c in compiled["/conversations"]["conversations"]] == [
        list(c) for c in reference["/conversations"]["conversations"]
    ]
