"""A former member sees the conversation as it was when they left: participants,
read markers, last message, activity, seq and unread of then; no later events."""
from __future__ import annotations

import pytest

from tests.messaging.conftest import send

OWNER, LEAVER, STAYER, NEWCOMER = ("mentor", 1), ("student", 2), ("student", 3), ("student", 4)


def _add(user, cid, who):
    r = user.post(f"/conversations/{cid}/participants", json={"participants": [{"role": who[0], "id": who[1]}]})
    assert r.status_code == 200, r.get_json()


@pytest.fixture
def story(as_):
    """The leaver sees m1 come in and leaves; then the group lives on without them."""
    owner, leaver, stayer = as_(*OWNER), as_(*LEAVER), as_(*STAYER)
    gid = owner.post("/conversations", json={"type": "group", "title": "G", "participants": [
        {"role": "student", "id": 2}, {"role": "student", "id": 3}]}).get_json()["id"]
    did = as_("admin", 9).post("/conversations", json={"type": "direct", "participants": [
        {"role": "student", "id": 2}]}).get_json()["id"]
    m1 = send(stayer, gid, "before you left")
    d1 = send(as_("admin", 9), did, "a direct word")
    then = leaver.get(f"/conversations/{gid}").get_json()
    assert leaver.delete(f"/conversations/{gid}/participants/student/2").status_code == 200
    left = leaver.get(f"/conversations/{gid}").get_json()
    # Life goes on: a message, a newcomer, a marker moving on, a member leaving later.
    m2 = send(owner, gid, "after you left")
    _add(owner, gid, NEWCOMER)
    stayer.post(f"/conversations/{gid}/read", json={"message_id": m2["id"]})
    assert owner.delete(f"/conversations/{gid}/participants/student/3").status_code == 200
    return {"gid": gid, "did": did, "m1": m1, "m2": m2, "d1": d1, "then": then, "left": left}


def _people(conversation):
    return {(p["role"], p["id"]): p for p in conversation["participants"]}


def test_the_conversation_is_shown_as_it_was_when_they_left(as_, story):
    seen = as_(*LEAVER).get(f"/conversations/{story['gid']}").get_json()
    people, then = _people(seen), _people(story["left"])
    assert {**seen, "participants": None} == {**story["left"], "participants": None}
    assert {k: (p["joined_at"], p["left_at"]) for k, p in people.items()} == {
        k: (p["joined_at"], p["left_at"]) for k, p in then.items()}
    # A marker that moved on after they left shows no further than what they saw, no later than when they left.
    assert all(p["last_read_message_id"] <= story["m1"]["id"] for p in people.values() if p["last_read_message_id"])
    assert all(p["last_read_at"] <= people[LEAVER]["left_at"] for p in people.values() if p["last_read_at"])
    assert set(people) == {OWNER, LEAVER, STAYER}  # the newcomer joined later
    assert people[STAYER]["left_at"] is None  # left later
    assert people[STAYER]["last_read_message_id"] == story["m1"]["id"]  # read m2 later: capped
    assert people[LEAVER]["left_at"] is not None
    assert seen["last_message"]["id"] == story["m1"]["id"]
    assert seen["last_activity_at"] == story["m1"]["created_at"]
    assert seen["last_seq"] < as_(*OWNER).get(f"/conversations/{story['gid']}").get_json()["last_seq"]


def test_members_still_see_everything(as_, story):
    now = as_(*OWNER).get(f"/conversations/{story['gid']}").get_json()
    people = _people(now)
    assert set(people) == {OWNER, LEAVER, STAYER, NEWCOMER}
    assert people[STAYER]["left_at"] is not None and people[STAYER]["last_read_message_id"] == story["m2"]["id"]
    assert now["last_message"]["id"] == story["m2"]["id"]


def test_the_list_entry_and_its_order_are_as_of_leaving(as_, story):
    listed = as_(*LEAVER).get("/conversations").get_json()["conversations"]
    assert [c["id"] for c in listed] == [story["did"], story["gid"]]  # the group's later activity does not count
    group = listed[1]
    assert group["last_message"]["id"] == story["m1"]["id"]
    assert group["last_activity_at"] == story["m1"]["created_at"]
    assert set(_people(group)) == {OWNER, LEAVER, STAYER}
    assert group["unread"] == 1  # m1, unread when they left; m2 does not count
    page = as_(*LEAVER).get("/conversations?limit=1").get_json()
    rest = as_(*LEAVER).get(f"/conversations?limit=1&before={page['next_before']}").get_json()
    assert [c["id"] for c in page["conversations"] + rest["conversations"]] == [story["did"], story["gid"]]
    unread = {c["id"]: c["unread"] for c in as_(*LEAVER).get("/unread").get_json()["conversations"]}
    assert unread[story["gid"]] == 1


def test_no_later_event_reaches_them_over_rest(as_, story):
    events = as_(*LEAVER).get("/events?after=0&limit=1000").get_json()["events"]
    room = f"conversation:{story['gid']}"
    assert [e for e in events if e["room"] == room] == []
    assert "after you left" not in str(events)


def test_a_member_brought_back_sees_everything_again(as_, story):
    _add(as_(*OWNER), story["gid"], LEAVER)
    seen = as_(*LEAVER).get(f"/conversations/{story['gid']}").get_json()
    assert set(_people(seen)) == {OWNER, LEAVER, STAYER, NEWCOMER}
    assert seen["last_message"]["id"] == story["m2"]["id"]
    assert seen["last_seq"] == as_(*OWNER).get(f"/conversations/{story['gid']}").get_json()["last_seq"]
