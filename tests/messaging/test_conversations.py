"""Opening conversations, membership, the list and its query count."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from api.extensions import db
from shared.models import Conversation, Participant, StudentNeeds
from tests.messaging.conftest import send

DIRECT = "/conversations"


def direct(user, role, pid):
    return user.post(DIRECT, json={"type": "direct", "participants": [{"role": role, "id": pid}]})


def test_direct_between_mentor_and_student_needs_a_relationship(as_, relationship):
    mentor = as_("mentor", 1)
    r = direct(mentor, "student", 2)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "direct_not_allowed"
    relationship(1, 2, status="pending")
    r = direct(mentor, "student", 2)
    assert r.status_code == 201
    conv = r.get_json()
    assert conv["type"] == "direct"
    assert {(p["role"], p["id"]) for p in conv["participants"]} == {("mentor", 1), ("student", 2)}
    again = direct(as_("student", 2), "mentor", 1)
    assert again.status_code == 200 and again.get_json()["id"] == conv["id"]


@pytest.mark.parametrize(
    "caller, other, allowed",
    [
        (("admin", 1), ("student", 5), True),
        (("student", 5), ("admin", 1), True),
        (("admin", 1), ("admin", 2), True),
        (("student", 5), ("student", 6), False),
        (("mentor", 5), ("mentor", 6), False),
        (("mentor", 3), ("student", 5), False),  # relationship ended
        (("service", 1), ("student", 5), False),
    ],
)
def test_who_may_open_a_direct_conversation(as_, relationship, caller, other, allowed):
    relationship(3, 5, status="ended")
    r = direct(as_(*caller), *other)
    assert r.status_code == (201 if allowed else 403), r.get_json()


def test_direct_needs_exactly_one_other(as_):
    admin = as_("admin", 1)
    r = admin.post(DIRECT, json={"type": "direct", "participants": [{"role": "admin", "id": 1}]})
    assert r.status_code == 422
    r = admin.post(DIRECT, json={"type": "direct", "participants": [{"role": "student", "id": 1},
                                                                      {"role": "student", "id": 2}]})
    assert r.status_code == 422


def test_group_created_by_mentor_with_owner_managing_members(as_, events):
    mentor, s1, s2 = as_("mentor", 1), as_("student", 1), as_("student", 2)
    r = mentor.post(DIRECT, json={"type": "group", "title": "Cohort", "participants": [{"role": "student", "id": 1}]})
    assert r.status_code == 201
    cid = r.get_json()["id"]
    assert r.get_json()["owner"] == {"role": "mentor", "id": 1}
    assert s1.post(DIRECT, json={"type": "group", "title": "x", "participants": [{"role": "student", "id": 2}]}
                   ).status_code == 403
    assert mentor.post(DIRECT, json={"type": "group", "participants": [{"role": "student", "id": 2}]}
                       ).status_code == 422
    # Only the owner (or an admin) adds.
    add = {"participants": [{"role": "student", "id": 2}]}
    assert s1.post(f"/conversations/{cid}/participants", json=add).status_code == 403
    assert mentor.post(f"/conversations/{cid}/participants", json=add).status_code == 200
    assert s2.get(f"/conversations/{cid}").status_code == 200
    assert [e.type for e in events("student:2")] == ["participant:added"]
    # s2 reads what is said while a member, then is removed: keeps read access up to then, cannot send.
    before = send(mentor, cid, "while you were here")
    assert s1.delete(f"/conversations/{cid}/participants/student/2").status_code == 403
    assert mentor.delete(f"/conversations/{cid}/participants/student/2").status_code == 200
    after = send(mentor, cid, "after you left")
    seen = [m["id"] for m in s2.get(f"/conversations/{cid}/messages").get_json()["messages"]]
    assert before["id"] in seen and after["id"] not in seen
    r = s2.post(f"/conversations/{cid}/messages", json={"body": "hi"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_a_participant"
    listed = s2.get("/conversations").get_json()["conversations"][0]
    assert listed["last_message"]["id"] == before["id"]
    assert mentor.delete(f"/conversations/{cid}/participants/student/2").status_code == 404
    # A member may leave by themselves.
    assert s1.delete(f"/conversations/{cid}/participants/student/1").status_code == 200
    removed = events(f"conversation:{cid}", "participant:removed")
    assert [e.type for e in removed] == ["participant:removed"] * 2


def test_membership_of_non_groups_is_fixed(as_, mentorship):
    cid = mentorship(1, 2)
    add = {"participants": [{"role": "student", "id": 3}]}
    r = as_("admin", 1).post(f"/conversations/{cid}/participants", json=add)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_a_group"


def test_list_is_newest_activity_first_with_unread_and_cursor(as_, mentorship, app):
    student = as_("student", 9)
    admins = [as_("admin", i) for i in range(1, 5)]
    ids = [direct(a, "student", 9).get_json()["id"] for a in admins]
    send(admins[0], ids[0], "bump the first one")
    page = student.get("/conversations?limit=2").get_json()
    assert [c["id"] for c in page["conversations"]] == [ids[0], ids[3]]
    assert page["conversations"][0]["unread"] == 1 and page["conversations"][1]["unread"] == 0
    assert page["conversations"][0]["last_message"]["body"] == "bump the first one"
    rest = student.get(f"/conversations?limit=2&before={page['next_before']}").get_json()
    assert [c["id"] for c in rest["conversations"]] == [ids[2], ids[1]] and rest["next_before"] is None
    assert student.get("/conversations?before=garbage").status_code == 422
    assert student.get("/conversations?before=9999999999999999999_1").status_code == 200


def _count_queries(app, client, headers) -> int:
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


def _give_conversations(app, student_id: int, how_many: int) -> None:
    with app.app_context():
        for i in range(how_many):
            conv = Conversation(type="group", title=f"g{i}", owner_role="admin", owner_id=1)
            db.session.add(conv)
            db.session.flush()
            db.session.add_all([
                Participant(conversation_id=conv.id, role="student", principal_id=student_id),
                Participant(conversation_id=conv.id, role="admin", principal_id=1),
            ])
        db.session.commit()


def test_listing_costs_the_same_queries_for_2_or_200_conversations(app, client, auth, as_):
    _give_conversations(app, 1, 2)
    _give_conversations(app, 2, 200)
    admin = as_("admin", 1)
    # Some messages so last-message and unread lookups have work to do.
    few = [c["id"] for c in as_("student", 1).get("/conversations").get_json()["conversations"]]
    many = [c["id"] for c in as_("student", 2).get("/conversations?limit=100").get_json()["conversations"]]
    for cid in few + many[:30]:
        mid = send(admin, cid, "hello")["id"]
        admin.put(f"/messages/{mid}/reactions/%F0%9F%91%8D")
    with app.app_context():  # display names and settings come with the page, not per row
        db.session.add_all([StudentNeeds(student_id=1, display_name="One"),
                            StudentNeeds(student_id=2, display_name="Two")])
        db.session.commit()
    for cid in few[:1] + many[:10]:
        as_("student", 1 if cid in few else 2).patch(f"/conversations/{cid}/settings", json={"pinned": True})
    small, n_small = _count_queries(app, client, auth("student", 1))
    large, n_large = _count_queries(app, client, auth("student", 2))
    assert (n_small, n_large) == (2, 100)
    assert small == large
