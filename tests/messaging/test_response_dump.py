"""The compiled dump of the response schemas (api.schemas.OutSchema) writes
exactly what marshmallow's own dump of the same schemas writes."""
from __future__ import annotations

import logging

import marshmallow as ma

from api import create_app, schemas
from api.schemas import OutSchema
from tests.messaging.conftest import send
from tests.pins import requirement_pins


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


def test_the_tested_marshmallow_is_the_pin_of_requirements_txt():
    assert requirement_pins()["marshmallow"] == schemas.TESTED_MARSHMALLOW


def test_another_marshmallow_version_turns_the_compiled_dump_off(caplog):
    try:
        with caplog.at_level(logging.WARNING, logger="api.schemas"):
            assert schemas.configure_fast_dump(True, installed="9.0.0") is False
        assert schemas.FAST_DUMP is False
        assert "fast dump off: marshmallow 9.0.0 (tested 4.4.0)" in caplog.text
    finally:
        schemas.configure_fast_dump(True)


def test_api_fast_dump_off_serves_with_marshmallow(config, auth, monkeypatch):
    compiled_plans = []
    monkeypatch.setattr(schemas, "_compile", lambda schema: compiled_plans.append(schema) or None)
    try:
        client = create_app(config.replace(api_fast_dump=False)).test_client()
        response = client.get("/api/v1/me", headers=auth("student", 21))
        assert response.status_code == 200 and response.get_json() == {"role": "student", "id": 21}
        assert compiled_plans == []
    finally:
        schemas.configure_fast_dump(True)
