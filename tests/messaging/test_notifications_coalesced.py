"""Every conversation notifies its other participants, coalesced per conversation;
mutes, mentions, reading, and the statements a send costs."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import event, update

from api.extensions import db
from shared.models import Participant
from shared.timeutil import utcnow
from tests.messaging.conftest import send

MENTOR = ("mentor", 1)
STUDENTS = [("student", 11), ("student", 12), ("student", 13)]


@pytest.fixture
def group(as_):
    r = as_(*MENTOR).post("/conversations", json={"type": "group", "title": "Cohort", "participants": [
        {"role": role, "id": pid} for role, pid in STUDENTS]})
    assert r.status_code == 201
    return r.get_json()["id"]


@pytest.fixture
def mute(app):
    """mute(conversation_id, (role, id), until=None): set `muted_until` as the settings route would."""

    def set_(conversation_id: int, who: tuple[str, int], until: dt.datetime | None = None) -> None:
        until = until or utcnow() + dt.timedelta(days=1)
        with app.app_context():
            db.session.execute(update(Participant).where(
                Participant.conversation_id == conversation_id, Participant.role == who[0],
                Participant.principal_id == who[1]).values(muted_until=until))
            db.session.commit()

    return set_


def notes(as_, who, **query):
    path = "/notifications" + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    r = as_(*who).get(path)
    assert r.status_code == 200
    return r.get_json()["notifications"]


def personal(events, who) -> list[tuple[str, dict]]:
    return [(e.type, json.loads(e.data)) for e in events(f"{who[0]}:{who[1]}") if e.type.startswith("notification:")]


def test_a_group_message_notifies_every_other_member_once_per_conversation(as_, group, events):
    mentor = as_(*MENTOR)
    sent = [send(mentor, group, f"note {i}") for i in range(3)]
    for who in STUDENTS:
        [note] = notes(as_, who)
        assert (note["type"], note["count"], note["read_at"]) == ("message", 3, None)
        assert note["data"] == {"conversation_id": group, "message_id": sent[2]["id"], "sender": {"role": "mentor",
                                                                                                   "id": 1}}
        assert note["body"] == "note 2" and note["link"] == f"/conversations/{group}"
        assert note["updated_at"] >= note["created_at"]
        logged = personal(events, who)
        assert [t for t, _ in logged] == ["notification:created", "notification:updated", "notification:updated"]
        assert {d["id"] for _, d in logged} == {note["id"]} and [d["count"] for _, d in logged] == [1, 2, 3]
        assert logged[-1][1] == note
    assert notes(as_, MENTOR) == [] and personal(events, MENTOR) == []
    assert as_(*STUDENTS[0]).get("/unread").get_json()["notifications"] == 1


def test_once_read_the_next_message_starts_a_new_notification(as_, group):
    mentor, student = as_(*MENTOR), as_(*STUDENTS[0])
    send(mentor, group, "one")
    send(mentor, group, "two")
    [first] = notes(as_, STUDENTS[0])
    assert student.post("/notifications/read", json={"ids": [first["id"]]}).get_json() == {"updated": 1, "unread": 0}
    third = send(mentor, group, "three")
    newest, old = notes(as_, STUDENTS[0])
    assert (old["id"], old["count"], old["body"]) == (first["id"], 2, "two") and old["read_at"]
    assert (newest["count"], newest["body"], newest["read_at"]) == (1, "three", None)
    assert newest["data"]["message_id"] == third["id"]


def test_mentorship_and_direct_conversations_notify_both_ways(as_, mentorship, relationship):
    cid = mentorship(1, 2)
    send(as_("mentor", 1), cid, "welcome")
    assert [(n["type"], n["body"]) for n in notes(as_, ("student", 2))] == [("message", "welcome")]
    send(as_("student", 2), cid, "thanks")
    assert [(n["type"], n["body"]) for n in notes(as_, ("mentor", 1))] == [("message", "thanks")]
    direct = as_("admin", 3).post("/conversations", json={"type": "direct", "participants": [
        {"role": "student", "id": 2}]}).get_json()["id"]
    send(as_("admin", 3), direct, "from the office")
    assert [n["data"]["conversation_id"] for n in notes(as_, ("student", 2))] == [direct, cid]


def test_muted_participants_get_nothing_until_the_mute_ends(as_, group, mute, events):
    muted, other = STUDENTS[0], STUDENTS[1]
    mute(group, muted)
    mute(group, other, until=utcnow() - dt.timedelta(seconds=1))  # a mute that has ended
    send(as_(*MENTOR), group, "while muted")
    assert notes(as_, muted) == [] and personal(events, muted) == []
    assert [n["body"] for n in notes(as_, other)] == ["while muted"]
    # Unread still counts for the muted member.
    assert as_(*muted).get("/unread").get_json()["total"] == 1


def test_a_mention_notifies_a_muted_participant_and_replaces_the_message_notification(as_, group, mute, events):
    mentioned, bystander = STUDENTS[0], STUDENTS[1]
    mute(group, mentioned)
    send(as_(*MENTOR), group, "plain")
    sent = send(as_(*MENTOR), group, "@student:11 please look, cc @student:12")
    [note] = notes(as_, mentioned)
    assert (note["type"], note["count"], note["title"]) == ("mention", 1, "mentor 1 mentioned you")
    assert note["body"] == "@student:11 please look, cc @student:12" and note["data"]["message_id"] == sent["id"]
    assert [t for t, _ in personal(events, mentioned)] == ["notification:created"]
    # The unmuted one named too: a mention, and their message notification stays at the plain message.
    by_type = {n["type"]: n for n in notes(as_, bystander)}
    assert by_type["mention"]["count"] == 1 and by_type["message"]["count"] == 1
    assert by_type["message"]["body"] == "plain"
    # Not named: the message notification counts both.
    assert [(n["type"], n["count"]) for n in notes(as_, STUDENTS[2])] == [("message", 2)]
    # Mentions coalesce too.
    send(as_(*MENTOR), group, "@student:11 again")
    [again] = notes(as_, mentioned)
    assert (again["id"], again["count"], again["body"]) == (note["id"], 2, "@student:11 again")


@pytest.mark.parametrize("body", [
    "@student:99 are you there",  # not a participant
    "@mentor:1 talking to myself",  # the sender
    "mail me@student:11 or @student:011 or @student:11x or @student:11:2 or @wizard:11",  # not mentions
])
def test_what_is_not_a_mention_of_a_participant_notifies_nobody_muted(as_, group, mute, body):
    for who in STUDENTS:
        mute(group, who)
    send(as_(*MENTOR), group, body)
    assert [notes(as_, who) for who in (*STUDENTS, ("student", 99), MENTOR)] == [[]] * 5


def test_former_members_are_neither_notified_nor_mentionable(as_, group):
    gone = STUDENTS[0]
    assert as_(*MENTOR).delete(f"/conversations/{group}/participants/{gone[0]}/{gone[1]}").status_code == 200
    send(as_(*MENTOR), group, "after you left, @student:11")
    assert notes(as_, gone) == []


def test_reading_the_conversation_clears_its_notification(as_, group, events):
    mentor, student = as_(*MENTOR), as_(*STUDENTS[0])
    first = send(mentor, group, "one")
    last = send(mentor, group, "two @student:11")
    assert {n["type"] for n in notes(as_, STUDENTS[0])} == {"message", "mention"}
    # Read up to the first: the mention (about the second) stays unread.
    student.post(f"/conversations/{group}/read", json={"message_id": first["id"]})
    assert [n["type"] for n in notes(as_, STUDENTS[0], unread="true")] == ["mention"]
    student.post(f"/conversations/{group}/read", json={"message_id": last["id"]})
    assert notes(as_, STUDENTS[0], unread="true") == []
    assert student.get("/unread").get_json() == {"total": 0, "conversations": [], "notifications": 0}


def test_writing_in_the_conversation_clears_the_writers_notification(as_, group):
    send(as_(*MENTOR), group, "question")
    assert len(notes(as_, STUDENTS[0], unread="true")) == 1
    send(as_(*STUDENTS[0]), group, "answer")
    assert notes(as_, STUDENTS[0], unread="true") == []
    assert [(n["count"], n["body"]) for n in notes(as_, MENTOR, unread="true")] == [(1, "answer")]


def test_notifications_of_other_conversations_are_untouched_by_reading_one(as_, group, mentorship):
    cid = mentorship(1, 11)
    send(as_(*MENTOR), cid, "private")
    last = send(as_(*MENTOR), group, "public")
    as_(*STUDENTS[0]).post(f"/conversations/{group}/read", json={"message_id": last["id"]})
    assert [n["data"]["conversation_id"] for n in notes(as_, STUDENTS[0], unread="true")] == [cid]


def test_a_long_body_is_previewed_not_copied(as_, group):
    body = "word " * 500
    send(as_(*MENTOR), group, body)
    [note] = notes(as_, STUDENTS[0])
    assert len(note["body"]) == 140 and note["body"].endswith("\u2026") and note["body"].startswith("word word")


# -- statements per send -----------------------------------------------------------------------

def _statements(app, user, cid: int, body: str) -> tuple[int, int]:
    """(statements of one send other than the event log's INSERTs, those INSERTs)."""
    with app.app_context():
        engine = db.engine
    seen = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        send(user, cid, body)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    logged = sum(1 for s in seen if s.startswith("INSERT INTO events"))
    return len(seen) - logged, logged


def test_a_send_costs_the_same_statements_for_2_or_20_members(app, as_, mentorship):
    """Before this change, MariaDB: 7 (direct), 6 (mentorship), 6 (20-member group, nobody notified)."""
    admin, mentor = as_("admin", 1), as_(*MENTOR)
    direct = admin.post("/conversations", json={"type": "direct", "participants": [
        {"role": "student", "id": 5}]}).get_json()["id"]
    pair = mentorship(1, 2)
    big = mentor.post("/conversations", json={"type": "group", "title": "G", "participants": [
        {"role": "student", "id": i} for i in range(20, 39)]}).get_json()["id"]
    counts, inserts = {}, {}
    for name, user, cid in (("direct", admin, direct), ("mentorship", mentor, pair), ("group", mentor, big)):
        send(user, cid, "first")  # creates the coalescing rows
        (plain, logged), (mentioning, _) = _statements(app, user, cid, "again"), _statements(
            app, user, cid, "@student:20 @student:2")
        counts[name], inserts[name] = (plain, mentioning), logged
    # Context, lock, message, conversation, marker, the targets with their unread rows, one UPDATE
    # bumping those rows: 7. A participant's first mention is an INSERT beside the others' UPDATE
    # in the group (8); in the pair it replaces the UPDATE (the only other member is mentioned),
    # and the direct conversation's mentions name nobody in it: 7.
    assert counts == {"direct": (7, 7), "mentorship": (7, 7), "group": (7, 8)}
    # The message's event and one per notified member share one INSERT on MariaDB (SQLAlchemy's
    # insertmanyvalues); SQLite gets one INSERT per event row.
    sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    assert inserts == ({"direct": 2, "mentorship": 2, "group": 20} if sqlite else dict.fromkeys(inserts, 1))
    # A reply to unread messages also clears the writer's notification of them: one more; and the
    # replier's own notification, read by replying, starts again as an INSERT: one more.
    send(as_("student", 20), big, "reply")
    assert _statements(app, mentor, big, "and back")[0] == 9
    with app.app_context():
        assert db.session.query(Participant).filter_by(conversation_id=big).count() == 20
