"""Each participant's own view of a conversation over HTTP: archive, mute, pin,
the list's filters and display names, leaving a group, delete for me, and an
admin's delete for everyone."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import event

from api.extensions import db
from shared.models import AuditEntry, Conversation, Event, MentorProfile, Message, Participant, StudentNeeds
from tests.messaging.conftest import send
from tests.messaging.test_private_text import stored_text

MENTOR, STUDENT, OUTSIDER, ADMIN, SERVICE = ("mentor", 1), ("student", 2), ("student", 3), ("admin", 5), ("service", 6)


def later(**delta) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta)).isoformat()


def listed(user, query: str = "") -> list[int]:
    response = user.get(f"/conversations{query}")
    assert response.status_code == 200, response.get_json()
    return [c["id"] for c in response.get_json()["conversations"]]


@pytest.fixture
def chat(as_, mentorship):
    return mentorship(1, 2)


def settings(user, cid: int, **body):
    return user.patch(f"/conversations/{cid}/settings", json=body)


def test_archived_leaves_the_list_and_a_new_message_brings_it_back(as_, chat):
    student, mentor = as_(*STUDENT), as_(*MENTOR)
    answer = settings(student, chat, archived=True)
    assert answer.status_code == 200
    assert (answer.get_json()["archived"], answer.get_json()["pinned"], answer.get_json()["muted_until"]) == (
        True, False, None)
    assert listed(student) == [] and listed(student, "?archived=1") == [chat]
    assert listed(mentor) == [chat]  # settings are the caller's own
    send(mentor, chat, "are you there")
    assert listed(student) == [chat] and listed(student, "?archived=true") == []
    assert student.get(f"/conversations/{chat}").get_json()["archived"] is False


def test_archived_and_muted_stays_archived_and_unread_still_counts(as_, chat):
    student, mentor = as_(*STUDENT), as_(*MENTOR)
    answer = settings(student, chat, archived=True, muted_until=later(hours=8)).get_json()
    assert answer["archived"] is True and answer["muted_until"] is not None
    send(mentor, chat, "while you were muted")
    assert listed(student) == []
    archived = student.get("/conversations?archived=1").get_json()["conversations"]
    assert [(c["id"], c["unread"]) for c in archived] == [(chat, 1)]
    assert student.get("/unread").get_json()["total"] == 1
    # Unmuting (a time in the past) does not bring back what came while muted ...
    assert settings(student, chat, muted_until=later(hours=-1)).get_json()["muted_until"] is None
    assert listed(student) == []
    # ... the next message does.
    send(mentor, chat, "now you hear me")
    assert listed(student) == [chat]


def test_a_message_after_the_mute_ran_out_brings_it_back(app, as_, chat):
    student, mentor = as_(*STUDENT), as_(*MENTOR)
    settings(student, chat, archived=True, muted_until=later(hours=1))
    first = send(mentor, chat, "muted one")
    with app.app_context():  # the hour passes: the mute ends just after that message
        row = db.session.query(Participant).filter_by(conversation_id=chat, role="student").one()
        row.muted_until = db.session.get(Message, first["id"]).created_at + dt.timedelta(microseconds=1)
        db.session.commit()
    assert listed(student) == []
    send(mentor, chat, "after the mute")
    assert listed(student) == [chat]


def test_muting_later_does_not_send_a_returned_conversation_back_to_the_archive(as_, chat):
    student, mentor = as_(*STUDENT), as_(*MENTOR)
    settings(student, chat, archived=True)
    send(mentor, chat, "back you come")
    assert settings(student, chat, muted_until=later(days=1)).get_json()["archived"] is False
    assert listed(student) == [chat]


def test_pinned_come_first_and_the_cursor_pages_across_them(as_):
    student = as_(*STUDENT)
    admins = [as_("admin", i) for i in range(1, 5)]
    ids = [a.post("/conversations", json={"type": "direct", "participants": [{"role": "student", "id": 2}]})
           .get_json()["id"] for a in admins]
    assert settings(student, ids[0], pinned=True).get_json()["pinned"] is True
    settings(student, ids[2], pinned=True)
    expected = [ids[2], ids[0], ids[3], ids[1]]
    assert listed(student) == expected
    seen, cursor = [], None
    while True:
        page = student.get("/conversations?limit=1" + (f"&before={cursor}" if cursor else "")).get_json()
        seen += [c["id"] for c in page["conversations"]]
        cursor = page["next_before"]
        if cursor is None:
            break
    assert seen == expected
    settings(student, ids[2], pinned=False)
    assert listed(student) == [ids[0], ids[3], ids[2], ids[1]]


def test_settings_events_go_to_the_callers_personal_room_only(as_, chat, events):
    student = as_(*STUDENT)
    before = len(events(f"conversation:{chat}"))
    settings(student, chat, pinned=True, muted_until=later(hours=2))
    settings(student, chat, pinned=True)  # no change: no event
    updates = events(type_="conversation:updated")
    assert [e.room for e in updates] == ["student:2"]
    data = student.get("/events?after=0").get_json()["events"][-1]["data"]
    assert data["conversation_id"] == chat and data["pinned"] is True and data["archived"] is False
    assert data["muted_until"].endswith("Z")
    assert len(events(f"conversation:{chat}")) == before
    assert not [e for e in as_(*MENTOR).get("/events?after=0").get_json()["events"]
                if e["type"] == "conversation:updated"]


@pytest.mark.parametrize("body", [
    {}, {"archived": "yes"}, {"archived": 1}, {"pinned": None}, {"muted_until": "2030-01-01T00:00:00"},
    {"muted_until": "tomorrow"}, {"muted_until": 1767225600}, {"muted_until": "9999-12-31T23:00:00-05:00"},
    {"muted_until": "9999-12-31T23:59:59+00:00"}, {"muted_until": "0001-01-01T00:00:00+05:00"},
    {"muted_until": "2030-02-30T00:00:00Z"}, {"muted_until": "2030-01-01T00:00:00Z" + "0" * 5000},
    {"color": "blue"}, {"archived": True, "extra": 1}, {"muted_until": "2030-01-01T00:00:00+\u0661\u0662:00"},
])
def test_bad_settings_are_422_and_change_nothing(app, as_, chat, body, events):
    before = len(events())
    response = settings(as_(*STUDENT), chat, **body) if body else as_(*STUDENT).patch(
        f"/conversations/{chat}/settings", json={})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert set(response.get_json()["error"]) == {"code", "message", "details"}
    with app.app_context():
        row = db.session.query(Participant).filter_by(conversation_id=chat, role="student").one()
        assert (row.archived_at, row.pinned_at, row.muted_until) == (None, None, None)
    assert len(events()) == before


def test_malformed_json_is_400(client, auth, chat):
    response = client.patch(f"/api/v1/conversations/{chat}/settings", data="{", headers={
        **auth(*STUDENT), "Content-Type": "application/json"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "malformed_json"


def name(app, role: str, pid: int, display_name: str) -> None:
    with app.app_context():
        if role == "mentor":
            db.session.add(MentorProfile(mentor_id=pid, display_name=display_name))
        else:
            db.session.add(StudentNeeds(student_id=pid, display_name=display_name))
        db.session.commit()


def test_participants_carry_display_names_and_q_finds_them(app, as_, chat):
    name(app, "mentor", 1, "Grace Hopper")
    name(app, "student", 2, "Ada 100%_sure")
    student, admin = as_(*STUDENT), as_(*ADMIN)
    gid = admin.post("/conversations", json={"type": "group", "title": "Rust Study Circle", "participants": [
        {"role": "student", "id": 2}]}).get_json()["id"]
    people = {(p["role"], p["id"]): p["display_name"]
              for p in student.get(f"/conversations/{chat}").get_json()["participants"]}
    assert people == {("mentor", 1): "Grace Hopper", ("student", 2): "Ada 100%_sure"}
    group = next(c for c in student.get("/conversations").get_json()["conversations"] if c["id"] == gid)
    assert {p["role"]: p["display_name"] for p in group["participants"]} == {"admin": None, "student": "Ada 100%_sure"}
    assert listed(student, "?q=hopper") == [chat]
    assert listed(student, "?q=GRACE%20H") == [chat]
    assert listed(student, "?q=study") == [gid]
    assert sorted(listed(student, "?q=ada")) == sorted([chat, gid])  # the caller's own name is in both
    assert sorted(listed(student, "?q=%25")) == sorted(listed(student, "?q=0%25_s")) == sorted([chat, gid])
    assert listed(student, "?q=0%25x") == []  # % is a character, not a wildcard
    assert listed(student, "?q=a_a") == []  # _ too
    assert listed(as_(*OUTSIDER), "?q=grace") == []
    assert student.get("/conversations?q=").status_code == 422
    assert student.get("/conversations?q=%20%20").status_code == 422
    assert student.get("/conversations?q=" + "x" * 101).status_code == 422
    assert student.get("/conversations?archived=maybe").status_code == 422


@pytest.mark.mysql
def test_q_is_case_insensitive_beyond_ascii(app, as_, chat):
    name(app, "mentor", 1, "Émilie Éclair")
    assert listed(as_(*STUDENT), "?q=%C3%A9milie") == [chat]


def test_leaving_a_group_keeps_the_history_up_to_then(as_, events):
    admin, student = as_(*ADMIN), as_(*STUDENT)
    gid = admin.post("/conversations", json={"type": "group", "title": "G", "participants": [
        {"role": "student", "id": 2}]}).get_json()["id"]
    send(admin, gid, "before you go")
    left = student.post(f"/conversations/{gid}/leave")
    assert left.status_code == 200
    mine = next(p for p in left.get_json()["participants"] if p["role"] == "student")
    assert mine["left_at"] is not None
    send(admin, gid, "after you left")
    bodies = [m["body"] for m in student.get(f"/conversations/{gid}/messages").get_json()["messages"]]
    assert bodies == ["before you go"]
    again = student.post(f"/conversations/{gid}/leave")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_left"
    assert [e.room for e in events(type_="participant:removed")] == [f"conversation:{gid}", "student:2"]


def test_direct_and_mentorship_conversations_cannot_be_left(as_, chat):
    refused = as_(*STUDENT).post(f"/conversations/{chat}/leave")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "cannot_leave"
    assert refused.get_json()["error"]["details"] == {"type": "mentorship"}
    direct = as_(*ADMIN).post("/conversations", json={"type": "direct", "participants": [
        {"role": "student", "id": 2}]}).get_json()["id"]
    assert as_(*STUDENT).post(f"/conversations/{direct}/leave").get_json()["error"]["code"] == "cannot_leave"


def test_delete_for_me_hides_the_history_for_the_caller_only(as_, chat, events):
    student, mentor = as_(*STUDENT), as_(*MENTOR)
    send(mentor, chat, "zebra crossing one")
    send(mentor, chat, "zebra crossing two")
    settings(student, chat, pinned=True, archived=True)
    gone = student.delete(f"/conversations/{chat}")
    assert gone.status_code == 200
    assert gone.get_json() == {"conversation_id": chat, "for": "me", "deleted_by": {"role": "student", "id": 2}}
    assert [e.room for e in events(type_="conversation:deleted")] == ["student:2"]
    assert listed(student) == [] and listed(student, "?archived=1") == []
    assert student.get(f"/conversations/{chat}/messages").get_json()["messages"] == []
    assert student.get("/unread").get_json()["total"] == 0
    assert student.get("/messages/search?q=zebra").get_json()["messages"] == []
    assert "zebra" not in json.dumps(student.get("/events?after=0").get_json())
    one = student.get(f"/conversations/{chat}").get_json()
    assert one["last_message"] is None and one["unread"] == 0
    assert len(mentor.get(f"/conversations/{chat}/messages").get_json()["messages"]) == 2  # theirs is intact
    send(mentor, chat, "zebra crossing three")
    back = student.get("/conversations").get_json()["conversations"]
    assert [(c["id"], c["unread"], c["pinned"], c["archived"]) for c in back] == [(chat, 1, False, False)]
    assert [m["body"] for m in student.get(f"/conversations/{chat}/messages").get_json()["messages"]] == [
        "zebra crossing three"]
    assert [m["body"] for m in student.get("/messages/search?q=zebra").get_json()["messages"]] == [
        "zebra crossing three"]
    replayed = [e["data"]["body"] for e in student.get("/events?after=0").get_json()["events"]
                if e["type"] == "message:created"]
    assert replayed == ["zebra crossing three"]


def test_an_admin_deletes_a_conversation_for_everyone(app, as_, relationship, events):
    relationship(1, 2)
    mentor, student, admin = as_(*MENTOR), as_(*STUDENT), as_(*ADMIN)
    gid = admin.post("/conversations", json={"type": "group", "title": "G", "participants": [
        {"role": "student", "id": 2}, {"role": "mentor", "id": 1}]}).get_json()["id"]
    mid = send(mentor, gid, "launch codes zebra")["id"]
    student.put(f"/messages/{mid}/reactions/%F0%9F%91%8D")
    refused = student.delete(f"/conversations/{gid}?for=everyone")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "admin_only"
    assert as_(*OUTSIDER).delete(f"/conversations/{gid}?for=everyone").status_code == 404
    assert as_(*SERVICE).delete(f"/conversations/{gid}?for=everyone").status_code == 403
    done = as_("admin", 9).delete(f"/conversations/{gid}?for=everyone")  # any admin, member or not
    assert done.status_code == 200 and done.get_json()["for"] == "everyone"
    assert [e.room for e in events(type_="conversation:deleted")] == [f"conversation:{gid}"]
    for who in (MENTOR, STUDENT, ADMIN):
        user = as_(*who)
        assert user.get(f"/conversations/{gid}").status_code == 404
        assert gid not in listed(user)
        assert user.post(f"/conversations/{gid}/messages", json={"body": "hello"}).status_code == 404
        assert user.patch(f"/conversations/{gid}/settings", json={"pinned": True}).status_code == 404
        assert "zebra" not in everything_readable_without(as_, who, gid)
    assert "zebra" not in stored_text(app)
    assert as_("admin", 9).delete(f"/conversations/{gid}?for=everyone").status_code == 404
    with app.app_context():
        entry = db.session.query(AuditEntry).filter_by(entity="conversation", entity_id=gid).one()
        assert (entry.action, entry.actor_role, entry.actor_id, entry.before) == (
            "deleted", "admin", 9, {"deleted_at": None})


def everything_readable_without(as_, who, cid: int) -> str:
    """`everything_readable` minus the routes of the conversation itself, which now answer 404."""
    user = as_(*who)
    parts = [user.get("/events?after=0&limit=1000"), user.get("/conversations"), user.get("/notifications"),
             user.get("/messages/search?q=zebra")]
    assert all(r.status_code == 200 for r in parts)
    answers = [r.get_json() for r in parts]
    answers[-1].pop("terms")  # the query's own word, echoed
    return json.dumps(answers, ensure_ascii=False)


def test_a_direct_pair_can_start_again_after_a_delete_for_everyone(as_, relationship):
    relationship(1, 2)
    mentor = as_(*MENTOR)
    body = {"type": "direct", "participants": [{"role": "student", "id": 2}]}
    first = mentor.post("/conversations", json=body).get_json()["id"]
    send(mentor, first, "old words")
    assert as_(*ADMIN).delete(f"/conversations/{first}?for=everyone").status_code == 200
    again = mentor.post("/conversations", json=body)
    assert again.status_code == 201 and again.get_json()["id"] != first


@pytest.mark.parametrize("query", ["?for=all", "?for=", "?for=EVERYONE"])
def test_bad_delete_scopes_are_422(as_, chat, query):
    response = as_(*STUDENT).delete(f"/conversations/{chat}{query}")
    assert response.status_code == 422, response.get_json()


# The authorization matrix of the new routes: (method, path, body, [(who, status)]).
FORMER, BLOCKED = ("student", 7), ("mentor", 8)


@pytest.fixture
def world(app, as_, chat):
    admin = as_(*ADMIN)
    gid = admin.post("/conversations", json={"type": "group", "title": "G", "participants": [
        {"role": "student", "id": 2}, {"role": "student", "id": 7}, {"role": "mentor", "id": 1}]}).get_json()["id"]
    mid = send(as_(*MENTOR), chat, "hello there")["id"]
    gmid = send(admin, gid, "group hello")["id"]
    as_(*FORMER).post(f"/conversations/{gid}/leave")
    return {"cid": chat, "gid": gid, "mid": mid, "gmid": gmid}


MATRIX = [
    ("patch", "/conversations/{cid}/settings", {"pinned": True},
     [(None, 401), (STUDENT, 200), (MENTOR, 200), (OUTSIDER, 404), (ADMIN, 404), (SERVICE, 403)]),
    ("patch", "/conversations/{gid}/settings", {"archived": True}, [(FORMER, 200), (OUTSIDER, 404)]),
    ("post", "/conversations/{gid}/leave", None,
     [(None, 401), (OUTSIDER, 404), (SERVICE, 403), (FORMER, 409), (STUDENT, 200)]),
    ("post", "/conversations/{cid}/leave", None, [(STUDENT, 409), (ADMIN, 404)]),
    ("delete", "/conversations/{cid}", None, [(None, 401), (OUTSIDER, 404), (ADMIN, 404), (SERVICE, 403),
                                              (STUDENT, 200)]),
    ("delete", "/conversations/{gid}", None, [(FORMER, 200)]),
    ("delete", "/conversations/{cid}?for=everyone", None, [(STUDENT, 403), (OUTSIDER, 404), (ADMIN, 200)]),
    ("put", "/messages/{mid}/reactions/%F0%9F%91%8D", None,
     [(None, 401), (OUTSIDER, 404), (ADMIN, 404), (SERVICE, 403), (STUDENT, 201), (MENTOR, 201)]),
    ("put", "/messages/{gmid}/reactions/%F0%9F%91%8D", None, [(FORMER, 403), (STUDENT, 201)]),
    ("delete", "/messages/{mid}/reactions/%F0%9F%91%8D", None,
     [(None, 401), (OUTSIDER, 404), (SERVICE, 403), (STUDENT, 404)]),
]
CASES = [
    pytest.param(method, path, body, who, status, id=f"{method} {path} {who[0] + str(who[1]) if who else 'anon'}")
    for method, path, body, rows in MATRIX
    for who, status in rows
]


@pytest.mark.parametrize("method, path, body, who, status", CASES)
def test_authorization_matrix(client, auth, world, method, path, body, who, status):
    headers = auth(*who) if who else {}
    kwargs = {"json": body} if body is not None else {}
    response = getattr(client, method)("/api/v1" + path.format(**world), headers=headers, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    if status >= 400:
        assert set(response.get_json()["error"]) == {"code", "message", "details"}


def test_a_blocked_user_keeps_their_settings_but_cannot_react(as_, relationship):
    relationship(8, 2)
    mentor = as_(*BLOCKED)
    direct = mentor.post("/conversations", json={"type": "direct", "participants": [{"role": "student", "id": 2}]})
    cid = direct.get_json()["id"]
    mid = send(as_(*STUDENT), cid, "hello there")["id"]
    assert as_(*STUDENT).post("/blocks", json={"role": "mentor", "id": 8}).status_code == 201
    assert mentor.put(f"/messages/{mid}/reactions/%F0%9F%91%8D").get_json()["error"]["code"] == "blocked"
    assert settings(mentor, cid, archived=True).status_code == 200
    assert mentor.delete(f"/conversations/{cid}").status_code == 200


def _statements(app, client, headers) -> tuple[int, int]:
    with app.app_context():
        engine = db.engine
    seen = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get("/api/v1/conversations?limit=100", headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(seen), len(response.get_json()["conversations"])


def _crowd(app, student_id: int, how_many: int) -> list[int]:
    """Groups with a named mentor, every third one pinned, every fifth archived, a reacted message in each."""
    with app.app_context():
        ids = []
        for i in range(how_many):
            conv = Conversation(type="group", title=f"g{i}", owner_role="admin", owner_id=1)
            db.session.add(conv)
            db.session.flush()
            now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            db.session.add_all([
                Participant(conversation_id=conv.id, role="student", principal_id=student_id,
                            pinned_at=now if i % 3 == 0 else None, archived_at=now if i % 5 == 0 else None),
                Participant(conversation_id=conv.id, role="mentor", principal_id=1),
            ])
            ids.append(conv.id)
        db.session.commit()
        return ids


def test_the_list_costs_the_same_statements_for_2_or_100_conversations(app, client, auth, as_):
    name(app, "mentor", 1, "Grace Hopper")
    few, many = _crowd(app, 21, 3), _crowd(app, 22, 130)
    for cid in few + many[:40]:
        mid = send(as_(*MENTOR), cid, "hello")["id"]
        as_(*MENTOR).put(f"/messages/{mid}/reactions/%F0%9F%91%8D")
    small, n_small = _statements(app, client, auth("student", 21))
    large, n_large = _statements(app, client, auth("student", 22))
    # One in five is archived; a message brought back those that got one (all 3 of the few).
    assert (n_small, n_large) == (3, 100)
    assert small == large
    print(f"\nconversation list statements: {small} for {n_small} conversations, {large} for {n_large}")
    page = as_("student", 22).get("/conversations?limit=100").get_json()["conversations"]
    assert page[0]["pinned"] and page[0]["participants"][1]["display_name"] == "Grace Hopper"
    assert not any(c["archived"] for c in page)


def test_no_partial_write_when_a_leave_is_refused(app, as_, chat):
    with app.app_context():
        before = db.session.query(Event).count()
    as_(*STUDENT).post(f"/conversations/{chat}/leave")
    with app.app_context():
        assert db.session.query(Event).count() == before
        assert db.session.query(Participant).filter(Participant.left_at.is_not(None)).count() == 0
