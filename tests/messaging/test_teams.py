"""Team rosters, team conversations and context threads over HTTP."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.extensions import db
from shared.models import Base
from tests.messaging.conftest import send

SERVICE, ADMIN = ("service", 1), ("admin", 9)
S1, S2, S3, MENTOR, OUTSIDER = ("student", 1), ("student", 2), ("student", 3), ("mentor", 4), ("student", 99)


def people(*who):
    return [{"role": role, "id": pid} for role, pid in who]


def put_roster(user, team_id, *who, status=200, **extra):
    r = user.put(f"/teams/{team_id}/members", json={"members": people(*who), **extra})
    assert r.status_code == status, r.get_json()
    return r.get_json()


def team_thread(user, team_id=7, kind="exercise", context_id=12, **extra):
    body = {"type": "team", "team_id": team_id, **extra}
    if kind:
        body["context"] = {"kind": kind, "id": context_id}
    return user.post("/conversations", json=body)


def members(conversation):
    return {(p["role"], p["id"]) for p in conversation["participants"] if p["left_at"] is None}


@pytest.fixture
def rows(app):
    def count() -> dict:
        with app.app_context():
            return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}

    return count


def test_a_roster_opens_the_team_conversation_and_follows_changes(as_, events):
    service = as_(*SERVICE)
    first = put_roster(service, 7, S1, S2, title="Team Rocket")
    assert first["added"] == people(S1, S2) and first["removed"] == []
    (cid,) = first["conversation_ids"]
    conv = as_(*S1).get(f"/conversations/{cid}").get_json()
    assert conv["type"] == "team" and conv["team_id"] == 7 and conv["title"] == "Team Rocket"
    assert conv["context"] == {"kind": "team", "id": 7} and members(conv) == {S1, S2}
    assert [e.type for e in events("student:1")] == ["conversation:created"]
    # S2 leaves the team, S3 joins: the conversation follows with the group events.
    said = send(as_(*S1), cid, "before the change")
    change = put_roster(service, 7, S1, S3)
    assert change["added"] == people(S3) and change["removed"] == people(S2)
    assert [e.type for e in events(f"conversation:{cid}")][-2:] == ["participant:added", "participant:removed"]
    assert members(as_(*S1).get(f"/conversations/{cid}").get_json()) == {S1, S3}
    # The former member reads up to then and writes no more.
    former = as_(*S2)
    assert [m["id"] for m in former.get(f"/conversations/{cid}/messages").get_json()["messages"]] == [said["id"]]
    r = former.post(f"/conversations/{cid}/messages", json={"body": "still here?"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_a_participant"
    assert send(as_(*S3), cid, "hello team")["conversation_id"] == cid


def test_the_same_list_twice_changes_nothing_and_emits_nothing(as_, events):
    service = as_(*SERVICE)
    put_roster(service, 7, S1, S2)
    logged = len(events())
    again = put_roster(service, 7, S2, S1, S1)  # order and repeats do not matter
    assert again["added"] == [] and again["removed"] == [] and len(events()) == logged


def test_a_brought_back_member_sees_everything_again(as_):
    service = as_(*SERVICE)
    (cid,) = put_roster(service, 7, S1, S2)["conversation_ids"]
    put_roster(service, 7, S1)
    missed = send(as_(*S1), cid, "while you were out")
    put_roster(service, 7, S1, S2)
    seen = [m["id"] for m in as_(*S2).get(f"/conversations/{cid}/messages").get_json()["messages"]]
    assert missed["id"] in seen


def test_a_context_thread_is_found_again_and_follows_the_roster(as_):
    service = as_(*SERVICE)
    put_roster(service, 7, S1, S2)
    created = team_thread(as_(*S1))
    assert created.status_code == 201
    thread = created.get_json()
    assert thread["context"] == {"kind": "exercise", "id": 12} and members(thread) == {S1, S2}
    again = team_thread(as_(*S2))
    assert again.status_code == 200 and again.get_json()["id"] == thread["id"]
    # Another team's thread about the same exercise is another conversation.
    put_roster(service, 8, S3)
    other = team_thread(as_(*S3), team_id=8)
    assert other.status_code == 201 and other.get_json()["id"] != thread["id"]
    change = put_roster(service, 7, S1, S3)
    assert thread["id"] in change["conversation_ids"]
    assert members(as_(*S1).get(f"/conversations/{thread['id']}").get_json()) == {S1, S3}


def test_the_team_conversation_can_be_opened_by_its_context(as_):
    put_roster(as_(*SERVICE), 7, S1)
    by_team = team_thread(as_(*S1), kind=None)
    by_context = as_(*S1).post("/conversations", json={"type": "team", "context": {"kind": "team", "id": 7}})
    assert by_team.status_code == 200 and by_context.status_code == 200
    assert by_team.get_json()["id"] == by_context.get_json()["id"]


def test_an_admin_opens_a_thread_without_being_in_it(as_):
    put_roster(as_(*SERVICE), 7, S1)
    r = team_thread(as_(*ADMIN))
    assert r.status_code == 201 and members(r.get_json()) == {S1}
    assert as_(*ADMIN).get(f"/conversations/{r.get_json()['id']}").status_code == 404


def test_group_context_threads_are_one_per_context(as_):
    mentor = as_(*MENTOR)
    body = {"type": "group", "title": "Submission 5", "participants": people(S1),
            "context": {"kind": "submission", "id": 5}}
    created = mentor.post("/conversations", json=body)
    assert created.status_code == 201 and created.get_json()["context"] == {"kind": "submission", "id": 5}
    again = mentor.post("/conversations", json={**body, "participants": people(S2)})
    assert again.status_code == 200 and again.get_json()["id"] == created.get_json()["id"]
    assert members(again.get_json()) == {MENTOR, S1}
    # Someone outside that group cannot take it over.
    r = as_("mentor", 5).post("/conversations", json=body)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "context_taken"


def test_the_list_filters_by_context(as_):
    put_roster(as_(*SERVICE), 7, S1, MENTOR)
    thread = team_thread(as_(*S1)).get_json()
    group = as_(*MENTOR).post("/conversations", json={
        "type": "group", "title": "about 12", "participants": people(S1), "context": {"kind": "exercise", "id": 12},
    }).get_json()
    team_thread(as_(*S1), context_id=13)
    listed = as_(*S1).get("/conversations?context=exercise:12").get_json()["conversations"]
    assert sorted(c["id"] for c in listed) == sorted([thread["id"], group["id"]])
    assert as_(*S1).get("/conversations?context=team:7").get_json()["conversations"][0]["type"] == "team"
    assert as_(*OUTSIDER).get("/conversations?context=exercise:12").get_json()["conversations"] == []
    for bad in ("exercise", "Exercise:1", "exercise:0", "exercise:-1", "exercise:99999999999999999999",
                "a:1:2", "exercise:١٢"):
        r = as_(*S1).get(f"/conversations?context={bad}")
        assert r.status_code == 422, bad


TEAM = "/teams/7/members"
ROSTER = {"members": people(S1, S2)}


@pytest.mark.parametrize("who, status, code", [
    (None, 401, "token_missing"),
    (S1, 403, "role_not_allowed"),
    (MENTOR, 403, "role_not_allowed"),
    (ADMIN, 200, None),
    (SERVICE, 200, None),
])
def test_who_may_set_a_roster(client, auth, who, status, code):
    r = client.put("/api/v1" + TEAM, json=ROSTER, headers=auth(*who) if who else {})
    assert r.status_code == status
    if code:
        assert r.get_json()["error"]["code"] == code


@pytest.fixture
def team_world(as_):
    """Team 7 of S1 and S3 (S2 was in it, S3 blocked S1), its conversation and an exercise thread."""
    service = as_(*SERVICE)
    put_roster(service, 7, S1, S2, S3)
    assert as_(*S3).post("/blocks", json={"role": "student", "id": 1}).status_code == 201
    thread = team_thread(as_(*S1)).get_json()
    put_roster(service, 7, S1, S3)
    return thread["id"]


@pytest.mark.parametrize("who, create, read, write, roster", [
    (S1, 200, 200, 201, 200),        # member
    (S3, 200, 200, 201, 200),        # member who blocked another member: team threads are the team's
    (S2, 403, 200, 403, 404),        # former member: reads up to leaving, nothing more
    (OUTSIDER, 403, 404, 404, 404),  # outsider
    (MENTOR, 403, 404, 404, 404),    # another role, not in the team
    (ADMIN, 200, 404, 404, 200),     # admins open threads and read rosters, they do not read the chat
    (SERVICE, 403, 404, 403, 200),   # services read rosters; POST /conversations is a write
])
def test_authorization_matrix_of_team_conversations(as_, team_world, who, create, read, write, roster):
    user = as_(*who)
    r = team_thread(user)
    assert r.status_code == create, r.get_json()
    if create == 403:
        assert r.get_json()["error"]["code"] in ("not_a_team_member", "read_only_role")
    assert user.get(f"/conversations/{team_world}").status_code == read
    assert user.post(f"/conversations/{team_world}/messages", json={"body": "hi"}).status_code == write
    assert user.get(TEAM).status_code == roster


def test_team_membership_is_managed_by_the_roster_only(as_, team_world):
    admin = as_(*ADMIN)
    r = admin.post(f"/conversations/{team_world}/participants", json={"participants": people(OUTSIDER)})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_a_group"
    r = as_(*S1).delete(f"/conversations/{team_world}/participants/student/1")
    assert r.status_code == 409


BAD_ROSTERS = [
    ("[1, 2]", "validation_failed"),
    ('{"members": [{"role": "student", "id": "1"}]}', "validation_failed"),
    ('{"members": [{"role": "service", "id": 1}]}', "validation_failed"),
    ('{"members": [{"role": "student", "id": 0}]}', "validation_failed"),
    ('{"members": [{"role": "student", "id": 2147483648}]}', "validation_failed"),
    ('{"members": [{"role": "student", "id": 1, "x": 1}]}', "validation_failed"),
    ('{"members": {"role": "student", "id": 1}}', "validation_failed"),
    ('{"members": [{"role": "student\\u0000", "id": 1}]}', "validation_failed"),
    ('{"members": [], "title": "\\ud800"}', "validation_failed"),
    ('{"members": [], "title": ""}', "validation_failed"),
    ('{"members": [{"role": "student", "id": 1}]', "malformed_json"),
    ('{"members": ' + "[" * 40 + "]" * 40 + "}", "malformed_json"),
]


@pytest.mark.parametrize("body, code", BAD_ROSTERS)
def test_a_bad_roster_is_refused_and_writes_nothing(client, auth, rows, body, code):
    before = rows()
    r = client.put("/api/v1" + TEAM, data=body, headers={**auth(*SERVICE), "Content-Type": "application/json"})
    assert r.status_code in (400, 422) and r.get_json()["error"]["code"] == code
    assert rows() == before


def test_a_roster_is_bounded(as_, rows):
    before = rows()
    too_many = [{"role": "student", "id": i} for i in range(1, 502)]
    r = as_(*SERVICE).put(TEAM, json={"members": too_many})
    assert r.status_code == 422 and "members" in r.get_json()["error"]["details"]
    assert rows() == before
    assert as_(*SERVICE).put("/teams/0/members", json=ROSTER).status_code == 404
    assert as_(*SERVICE).put("/teams/2147483648/members", json=ROSTER).status_code == 404


BAD_CREATES = [
    ({"type": "team"}, "team_required"),
    ({"type": "team", "team_id": 7, "context": {"kind": "team", "id": 8}}, "context_team_mismatch"),
    ({"type": "team", "team_id": "7"}, "validation_failed"),
    ({"type": "team", "team_id": 7, "participants": people(S2)}, "validation_failed"),
    ({"type": "team", "team_id": 7, "context": {"kind": "Exercise", "id": 1}}, "validation_failed"),
    ({"type": "team", "team_id": 7, "context": {"kind": "exercise", "id": "1"}}, "validation_failed"),
    ({"type": "team", "team_id": 7, "context": {"kind": "exercise"}}, "validation_failed"),
    ({"type": "team", "team_id": 7, "context": {"kind": "x" * 33, "id": 1}}, "validation_failed"),
    ({"type": "team", "team_id": 7, "context": {"kind": "exercise", "id": 1, "extra": 1}}, "validation_failed"),
    ({"type": "group", "title": "g", "participants": people(S2), "team_id": 7}, "validation_failed"),
    ({"type": "direct", "participants": people(ADMIN), "context": {"kind": "exercise", "id": 1}},
     "validation_failed"),
    ({"type": "group", "title": "g"}, "validation_failed"),
]


@pytest.mark.parametrize("body, code", BAD_CREATES)
def test_a_bad_team_or_context_conversation_is_refused_and_writes_nothing(as_, rows, body, code):
    put_roster(as_(*SERVICE), 7, S1)
    before = rows()
    r = as_(*S1).post("/conversations", json=body)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == code, r.get_json()
    assert rows() == before
