"""A broadcast's recipients open it read-only, find it in their list, and it is unread until read."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from shared.db import make_engine
from shared.migrate import alembic_config, migrate

ADMIN, S1, S2, MENTOR = ("admin", 1), ("student", 1), ("student", 2), ("mentor", 3)


@pytest.fixture
def sent(as_, relationship):
    relationship(3, 1)
    relationship(3, 2)  # makes students 1, 2 and mentor 3 known principals
    r = as_(*ADMIN).post("/broadcasts", json={"audience": "students", "title": "Maintenance", "body": "Down at 6"})
    assert r.status_code == 201 and r.get_json()["recipients"] == 2
    return r.get_json()


def test_a_recipient_finds_it_in_their_list_unread(as_, sent):
    listed = as_(*S1).get("/conversations").get_json()["conversations"]
    assert [(c["id"], c["type"], c["unread"]) for c in listed] == [(sent["conversation_id"], "broadcast", 1)]
    assert listed[0]["last_message"]["body"] == "Down at 6"
    unread = as_(*S1).get("/unread").get_json()
    assert {"id": sent["conversation_id"], "unread": 1} in unread["conversations"]


def test_a_recipient_opens_it_and_sees_only_the_sender_and_themselves(as_, sent):
    cid = sent["conversation_id"]
    conv = as_(*S1).get(f"/conversations/{cid}").get_json()
    assert {(p["role"], p["id"]) for p in conv["participants"]} == {ADMIN, S1}
    messages = as_(*S1).get(f"/conversations/{cid}/messages").get_json()["messages"]
    assert [m["id"] for m in messages] == [sent["message_id"]]
    # The sender's view does not list the recipients either.
    assert {(p["role"], p["id"]) for p in as_(*ADMIN).get(f"/conversations/{cid}").get_json()["participants"]} == {
        ADMIN}


def test_reading_it_clears_unread_and_tells_no_one_else(as_, sent, events):
    cid = sent["conversation_id"]
    r = as_(*S1).post(f"/conversations/{cid}/read", json={"message_id": sent["message_id"]})
    assert r.status_code == 200 and r.get_json()["last_read_message_id"] == sent["message_id"]
    assert as_(*S1).get("/conversations").get_json()["conversations"][0]["unread"] == 0
    assert as_(*S2).get("/conversations").get_json()["conversations"][0]["unread"] == 1
    assert [e.type for e in events("student:1", "conversation:read")] == ["conversation:read"]
    assert events(f"conversation:{cid}", "conversation:read") == []


def test_a_recipient_cannot_post_into_it(as_, sent, events):
    cid = sent["conversation_id"]
    logged = len(events())
    r = as_(*S1).post(f"/conversations/{cid}/messages", json={"body": "thanks!"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "read_only_conversation"
    assert len(events()) == logged
    assert len(as_(*S1).get(f"/conversations/{cid}/messages").get_json()["messages"]) == 1


@pytest.mark.parametrize("who", [MENTOR, ("student", 99), ("admin", 2)])
def test_people_outside_the_audience_do_not_see_it(as_, sent, who):
    cid = sent["conversation_id"]
    assert as_(*who).get(f"/conversations/{cid}").status_code == 404
    assert as_(*who).get(f"/conversations/{cid}/messages").status_code == 404
    assert as_(*who).post(f"/conversations/{cid}/read", json={"message_id": sent["message_id"]}).status_code in (
        403, 404)
    assert all(c["id"] != cid for c in as_(*who).get("/conversations").get_json()["conversations"])


def test_a_deleted_broadcast_shows_no_text_to_recipients(as_, sent):
    assert as_(*ADMIN).delete(f"/messages/{sent['message_id']}").status_code == 200
    listed = as_(*S1).get("/conversations").get_json()["conversations"][0]
    assert listed["last_message"]["body"] is None and listed["unread"] == 0


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def bare_engine(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}" if request.param == "sqlite" else request.getfixturevalue(
        "mysql_server").create("mentorship_0009")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_0009_makes_earlier_broadcasts_recipients_read_only_participants(bare_engine):
    with bare_engine.connect() as conn, conn.begin():
        command.upgrade(alembic_config(conn), "0003")
    with bare_engine.begin() as conn:
        conn.execute(text("INSERT INTO conversations (id, type, title, owner_role, owner_id, last_message_id,"
                          " last_seq, last_activity_at, created_at)"
                          " VALUES (1, 'broadcast', 't', 'admin', 1, 5, 1, '2024-01-01', '2024-01-01')"))
        conn.execute(text("INSERT INTO participants (conversation_id, role, principal_id, joined_at,"
                          " last_read_message_id) VALUES (1, 'admin', 1, '2024-01-01', 5)"))
        conn.execute(text("INSERT INTO messages (id, conversation_id, sender_role, sender_id, body, reply_count,"
                          " created_at) VALUES (5, 1, 'admin', 1, 'hello all', 0, '2024-01-01')"))
        conn.execute(text(
            "INSERT INTO notifications (recipient_role, recipient_id, type, title, body, message_id, created_at,"
            " read_at) VALUES ('student', 2, 'broadcast', 't', 'hello all', 5, '2024-01-01', '2024-01-02'),"
            " ('mentor', 3, 'broadcast', 't', 'hello all', 5, '2024-01-01', NULL),"
            " ('student', 4, 'message', 'x', NULL, 5, '2024-01-01', NULL)"))
    migrate(bare_engine, log=lambda *_: None)
    with bare_engine.connect() as conn:
        rows = conn.execute(text("SELECT role, principal_id, read_only, last_read_message_id FROM participants"
                                 " ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("admin", 1, False, 5), ("student", 2, True, 5), ("mentor", 3, True, None)]
