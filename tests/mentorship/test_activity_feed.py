"""GET /activity over HTTP: what a principal's feed holds, filters, pages, and what it never shows."""
from __future__ import annotations

import json

import pytest

from tests.mentorship.conftest import ADMIN, MENTOR, OTHER_MENTOR, OTHER_STUDENT, STUDENT
from tests.mentorship.test_dashboard import _conversation_of, _send, counted


def _types(api, who, query=""):
    return [item["type"] for item in api.ok(api.get(f"/activity{query}", who))["activity"]]


def _journey(api):
    api.profile(MENTOR)
    rel = api.active(STUDENT, MENTOR)
    goal = api.goal(rel)
    api.ok(api.patch(f"/goals/{goal['id']}", MENTOR, json={"progress": 30}))
    api.ok(api.post(f"/relationships/{rel['id']}/activities", MENTOR, json={"text": "met today"}), 201)
    return rel, goal


def test_the_feed_tells_what_happened_newest_first_once_each(api):
    rel, goal = _journey(api)
    # Accepting opens the conversation first, in the same transaction.
    expected = ["note", "goal_updated", "goal_created", "relationship_accepted", "conversation_created",
                "relationship_requested"]
    assert _types(api, STUDENT) == expected
    assert _types(api, MENTOR) == expected
    items = api.ok(api.get("/activity", MENTOR))["activity"]
    assert items[0]["data"]["text"] == "met today" and items[0]["data"]["kind"] == "note"
    assert items[1]["data"]["id"] == goal["id"] and items[1]["data"]["progress"] == 30
    assert items[-1]["data"]["id"] == rel["id"] and items[-1]["data"]["status"] == "pending"
    ids = [item["id"] for item in items]
    assert ids == sorted(ids, reverse=True)
    assert set(items[0]) == {"id", "type", "created_at", "data"}


def test_filtered_by_types(api):
    _journey(api)
    assert _types(api, STUDENT, "?types=note,relationship_requested") == ["note", "relationship_requested"]
    assert _types(api, STUDENT, "?types=goal_created") == ["goal_created"]
    assert _types(api, STUDENT, "?types=relationship_ended") == []


def test_pages_by_id_with_one_query_each(app, api):
    _journey(api)
    seen, before = [], ""
    while True:
        with counted(app) as statements:
            page = api.ok(api.get(f"/activity?limit=4{before}", STUDENT))
        assert len(statements) == 1
        seen += [item["type"] for item in page["activity"]]
        if page["next_before"] is None:
            break
        before = f"&before={page['next_before']}"
    assert seen == _types(api, STUDENT)
    assert len(seen) == 6


def test_no_message_text_and_nothing_of_other_people(api):
    rel, _ = _journey(api)
    _send(api, STUDENT, _conversation_of(api, rel), "zanzibar-secret")
    for who in (STUDENT, MENTOR):
        assert "zanzibar-secret" not in json.dumps(api.ok(api.get("/activity", who)))
    for outsider in (OTHER_MENTOR, OTHER_STUDENT, ADMIN, ("service", 1)):
        assert api.ok(api.get("/activity", outsider)) == {"activity": [], "next_before": None}


def test_a_former_member_sees_nothing_after_leaving(api):
    cid = api.ok(api.post("/conversations", ADMIN, json={"type": "group", "title": "club", "participants": [
        {"role": "mentor", "id": MENTOR[1]}, {"role": "student", "id": STUDENT[1]}]}), 201)["id"]
    api.ok(api.delete(f"/conversations/{cid}/participants/student/{STUDENT[1]}", ADMIN))
    api.ok(api.post(f"/conversations/{cid}/participants", ADMIN, json={"participants": [
        {"role": "student", "id": OTHER_STUDENT[1]}]}))
    api.ok(api.delete(f"/conversations/{cid}/participants/mentor/{MENTOR[1]}", ADMIN))
    assert _types(api, STUDENT) == ["conversation_left", "conversation_created"]
    assert _types(api, OTHER_STUDENT) == ["conversation_joined"]
    assert _types(api, MENTOR) == ["conversation_left", "conversation_created"]


def test_a_relationship_that_ended_stays_in_the_feed_and_adds_nothing_later(api):
    rel, _ = _journey(api)
    api.ok(api.post(f"/relationships/{rel['id']}/end", ADMIN, json={"reason": "moved"}))
    api.profile(OTHER_MENTOR)
    api.active(STUDENT, OTHER_MENTOR)
    mentor_feed = _types(api, MENTOR)
    assert mentor_feed[0] == "relationship_ended" and "relationship_accepted" in mentor_feed
    assert len(mentor_feed) == 7  # nothing of the student's new mentorship


@pytest.mark.parametrize("query", [
    "types=bogus", "types=", "types=note,,goal_created", "types=note%00", "types=NOTE", "before=0", "before=-1",
    "before=abc", "before=99999999999999999999999", "limit=0", "limit=101", "limit=x",
])
def test_bad_feed_input_is_422(api, query):
    response = api.get(f"/activity?{query}", STUDENT)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert response.get_json()["error"]["details"]
