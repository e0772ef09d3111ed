"""Who may add whom to a group (blocks), and who may still write once a
relationship has closed (README "Messaging", rules)."""
from __future__ import annotations

import pytest

from api.extensions import db
from api.messaging.membership import open_mentorship_conversation
from shared.models import Conversation, Relationship
from tests.messaging.conftest import send

MENTOR, STUDENT, OTHER = ("mentor", 1), ("student", 2), ("student", 3)
GROUP = "/conversations"


def _group(user, *people):
    return user.post(GROUP, json={"type": "group", "title": "G",
                                  "participants": [{"role": r, "id": i} for r, i in people]})


def _add(user, cid, who):
    return user.post(f"/conversations/{cid}/participants", json={"participants": [{"role": who[0], "id": who[1]}]})


def _code(response):
    return response.status_code, response.get_json()["error"]["code"]


def test_nobody_but_an_admin_adds_to_a_group_someone_blocked_either_way(app, as_):
    mentor = as_(*MENTOR)
    as_(*STUDENT).post("/blocks", json={"role": "mentor", "id": 1})  # the student blocked the mentor
    mentor.post("/blocks", json={"role": "student", "id": 3})  # the mentor blocked another student
    for who in (STUDENT, OTHER):
        refused = _group(mentor, who)
        assert _code(refused) == (403, "blocked")
        assert refused.get_json()["error"]["details"] == {"participants": [{"role": who[0], "id": who[1]}]}
    with app.app_context():
        assert db.session.query(Conversation).count() == 0
    cid = _group(mentor, ("student", 4)).get_json()["id"]
    for who in (STUDENT, OTHER):
        assert _code(_add(mentor, cid, who)) == (403, "blocked")
    members = {(p["role"], p["id"]) for p in mentor.get(f"/conversations/{cid}").get_json()["participants"]}
    assert members == {MENTOR, ("student", 4)}
    assert _add(as_("admin", 9), cid, STUDENT).status_code == 200  # an admin moderates: no block applies
    assert _group(as_("admin", 9), STUDENT).status_code == 201
    as_(*STUDENT).delete("/blocks/mentor/1")
    assert _group(mentor, STUDENT).status_code == 201


@pytest.fixture
def pair(app, as_):
    """An active relationship (mentor 1, student 2) with its mentorship conversation,
    and the pair's direct conversation."""
    with app.app_context():
        rel = Relationship(mentor_id=1, student_id=2, status="active", requested_by="student")
        db.session.add(rel)
        db.session.flush()
        mentorship = open_mentorship_conversation(rel).id
        db.session.commit()
        rel_id = rel.id
    direct = as_(*MENTOR).post(GROUP, json={"type": "direct", "participants": [{"role": "student", "id": 2}]})
    return {"rel": rel_id, "mentorship": mentorship, "direct": direct.get_json()["id"]}


@pytest.mark.parametrize("which", ["mentorship", "direct"])
def test_an_ended_relationship_closes_the_pairs_conversations_to_new_messages(as_, pair, which):
    cid = pair[which]
    earlier = send(as_(*STUDENT), cid, "while it lasted")
    ended = as_(*MENTOR).post(f"/relationships/{pair['rel']}/end", json={"reason": "done"})
    assert ended.status_code == 200, ended.get_json()
    for who in (MENTOR, STUDENT):
        r = as_(*who).post(f"/conversations/{cid}/messages", json={"body": "one more thing"})
        assert _code(r) == (403, "relationship_closed"), who
        listed = as_(*who).get(f"/conversations/{cid}/messages")  # reading stays allowed
        assert [m["body"] for m in listed.get_json()["messages"]] == ["while it lasted"]
    # One's own earlier words can still be corrected or taken back.
    assert as_(*STUDENT).patch(f"/messages/{earlier['id']}", json={"body": "fixed"}).status_code == 200
    assert as_(*STUDENT).delete(f"/messages/{earlier['id']}").status_code == 200


@pytest.mark.parametrize("status", ["declined", "cancelled"])
def test_a_declined_or_cancelled_request_closes_the_direct_conversation(app, as_, relationship, status):
    rel_id = relationship(1, 2, status="pending")
    cid = as_(*MENTOR).post(GROUP, json={"type": "direct", "participants": [{"role": "student", "id": 2}]}
                            ).get_json()["id"]
    send(as_(*MENTOR), cid, "about your request")
    with app.app_context():
        db.session.get(Relationship, rel_id).status = status
        db.session.commit()
    assert _code(as_(*STUDENT).post(f"/conversations/{cid}/messages", json={"body": "hi"})) == (
        403, "relationship_closed")


def test_another_open_relationship_between_them_keeps_them_writing(as_, relationship, pair):
    as_(*MENTOR).post(f"/relationships/{pair['rel']}/end", json={"reason": "done"})
    relationship(1, 2, status="pending")  # a new request between the same pair
    for which in ("mentorship", "direct"):
        assert as_(*STUDENT).post(f"/conversations/{pair[which]}/messages", json={"body": "again"}).status_code == 201


def test_admins_and_groups_are_not_tied_to_relationships(as_, relationship):
    relationship(1, 2, status="ended")
    admin_direct = as_("admin", 9).post(GROUP, json={"type": "direct", "participants": [{"role": "student", "id": 2}]})
    cid = admin_direct.get_json()["id"]
    assert as_(*STUDENT).post(f"/conversations/{cid}/messages", json={"body": "hello admin"}).status_code == 201
    gid = _group(as_(*MENTOR), STUDENT).get_json()["id"]
    assert as_(*STUDENT).post(f"/conversations/{gid}/messages", json={"body": "in the group"}).status_code == 201
