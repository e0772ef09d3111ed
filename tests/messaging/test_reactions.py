"""Reactions over HTTP: one per emoji per person, counts and `mine` on every message
payload, events to the room, who may react, and emoji validation."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from api.extensions import db
from shared.models import Reaction
from tests.messaging.conftest import send

MENTOR, STUDENT, OUTSIDER, ADMIN, SERVICE = ("mentor", 1), ("student", 2), ("student", 3), ("admin", 5), ("service", 6)


def path(mid: int, emoji: str) -> str:
    return f"/messages/{mid}/reactions/{quote(emoji)}"


@pytest.fixture
def chat(as_, mentorship):
    cid = mentorship(1, 2)
    return cid, send(as_(*MENTOR), cid, "hello there")["id"]


def reaction_rows(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.query(Reaction).order_by(Reaction.id)
        return [(r.message_id, r.role, r.principal_id, r.emoji) for r in rows]


def test_react_again_and_take_back(as_, chat, events):
    cid, mid = chat
    student, mentor = as_(*STUDENT), as_(*MENTOR)
    first = student.put(path(mid, "👍"))
    assert first.status_code == 201
    assert first.get_json() == {"message_id": mid, "reactions": [{"emoji": "👍", "count": 1, "mine": True}]}
    assert student.put(path(mid, "👍")).status_code == 200  # again: no change, no event
    assert mentor.put(path(mid, "👍")).status_code == 201
    assert mentor.put(path(mid, "🎉")).status_code == 201
    listed = student.get(f"/conversations/{cid}/messages").get_json()["messages"][0]
    assert listed["reactions"] == [{"emoji": "👍", "count": 2, "mine": True},
                                   {"emoji": "🎉", "count": 1, "mine": False}]
    assert len(events(f"conversation:{cid}", "reaction:added")) == 3
    removed = student.delete(path(mid, "👍"))
    assert removed.status_code == 200
    assert removed.get_json()["reactions"] == [{"emoji": "👍", "count": 1, "mine": False},
                                               {"emoji": "🎉", "count": 1, "mine": False}]
    assert student.delete(path(mid, "👍")).get_json()["error"]["code"] == "reaction_not_found"
    assert len(events(f"conversation:{cid}", "reaction:removed")) == 1


def test_reaction_events_carry_the_new_count_and_who(as_, chat):
    cid, mid = chat
    as_(*STUDENT).put(path(mid, "❤️"))
    as_(*MENTOR).put(path(mid, "❤️"))
    logged = [e for e in as_(*STUDENT).get("/events?after=0").get_json()["events"] if e["type"] == "reaction:added"]
    heart = {"message_id": mid, "conversation_id": cid, "emoji": "❤️"}
    assert [e["data"] for e in logged] == [
        {**heart, "count": 1, "principal": {"role": "student", "id": 2}},
        {**heart, "count": 2, "principal": {"role": "mentor", "id": 1}},
    ]
    assert logged[1]["seq"] == logged[0]["seq"] + 1 and logged[0]["room"] == f"conversation:{cid}"


@pytest.mark.parametrize("emoji", ["👍🏽", "👨‍👩‍👧", "🇫🇷", "#️⃣", "🏳️‍🌈", "👩🏿‍💻"])
def test_sequences_skin_tones_flags_and_keycaps_are_one_emoji(as_, chat, emoji):
    _, mid = chat
    response = as_(*STUDENT).put(path(mid, emoji))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["reactions"][0]["emoji"] == emoji


def test_a_heart_with_or_without_its_variation_selector_is_one_reaction(as_, chat):
    _, mid = chat
    assert as_(*STUDENT).put(path(mid, "❤")).status_code == 201
    again = as_(*STUDENT).put(path(mid, "❤️"))
    assert again.status_code == 200 and again.get_json()["reactions"] == [{"emoji": "❤️", "count": 1, "mine": True}]


@pytest.mark.mysql
def test_emoji_outside_the_bmp_are_told_apart(as_, chat):
    """utf8mb4_unicode_ci weighs them all the same; the column compares bytes."""
    _, mid = chat
    for emoji in ("😀", "😂", "🙂"):
        assert as_(*STUDENT).put(path(mid, emoji)).status_code == 201
    assert [r["emoji"] for r in as_(*STUDENT).put(path(mid, "😂")).get_json()["reactions"]] == ["😀", "😂", "🙂"]


@pytest.mark.parametrize("raw", [
    "a", "ok", "👍👍", "👍 ", " 👍", "👍a", "1", "🏽", "\u200d", "\ufe0f", "x" * 40, "👍" * 40, "%00", "<b>",
    "🇫", "\u0301", "日", "\x00",
])
def test_anything_but_one_emoji_is_422_and_writes_nothing(app, as_, chat, raw, events):
    _, mid = chat
    before = len(events())
    response = as_(*STUDENT).put(path(mid, raw))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] in ("emoji_invalid", "validation_failed")
    assert set(response.get_json()["error"]) == {"code", "message", "details"}
    assert reaction_rows(app) == [] and len(events()) == before


def test_a_huge_path_segment_is_refused_without_a_500(as_, chat):
    _, mid = chat
    response = as_(*STUDENT).put(path(mid, "👍" * 5000))
    assert response.status_code in (414, 422)


def test_who_may_react(app, as_, chat, mentorship):
    cid, mid = chat
    assert as_(*OUTSIDER).put(path(mid, "👍")).status_code == 404
    assert as_(*ADMIN).put(path(mid, "👍")).status_code == 404  # moderation reads; reacting is for participants
    assert as_(*SERVICE).put(path(mid, "👍")).get_json()["error"]["code"] == "read_only_role"
    assert as_(*STUDENT).put(path(999999, "👍")).status_code == 404
    assert as_(*STUDENT).put("/messages/١٢/reactions/%F0%9F%91%8D").status_code == 404
    assert reaction_rows(app) == []


def test_a_blocked_pair_cannot_react_but_can_take_a_reaction_back(app, as_, relationship):
    relationship(1, 2)
    mentor, student = as_(*MENTOR), as_(*STUDENT)
    cid = mentor.post("/conversations", json={"type": "direct", "participants": [{"role": "student", "id": 2}]})
    cid = cid.get_json()["id"]
    mid = send(mentor, cid, "hello there")["id"]
    assert student.put(path(mid, "👍")).status_code == 201
    assert student.post("/blocks", json={"role": "mentor", "id": 1}).status_code == 201
    refused = student.put(path(mid, "🎉"))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "blocked"
    assert mentor.put(path(mid, "🎉")).get_json()["error"]["code"] == "blocked"
    assert student.delete(path(mid, "👍")).status_code == 200
    assert reaction_rows(app) == []


def test_a_former_member_cannot_react_nor_see_later_messages(as_):
    admin, student = as_(*ADMIN), as_(*STUDENT)
    gid = admin.post("/conversations", json={"type": "group", "title": "G", "participants": [
        {"role": "student", "id": 2}]}).get_json()["id"]
    early = send(admin, gid, "before leaving")["id"]
    assert student.post(f"/conversations/{gid}/leave").status_code == 200
    late = send(admin, gid, "after leaving")["id"]
    assert student.put(path(early, "👍")).get_json()["error"]["code"] == "not_a_participant"
    assert student.put(path(late, "👍")).status_code == 404


def test_a_deleted_message_takes_no_reactions_and_loses_its_own(app, as_, chat):
    cid, mid = chat
    assert as_(*STUDENT).put(path(mid, "👍")).status_code == 201
    deleted = as_(*MENTOR).delete(f"/messages/{mid}")
    assert deleted.get_json()["reactions"] == []
    assert as_(*STUDENT).put(path(mid, "🎉")).get_json()["error"]["code"] == "message_deleted"
    assert reaction_rows(app) == []


def test_reactions_are_in_search_results_and_the_last_message(as_, chat):
    cid, mid = chat
    as_(*STUDENT).put(path(mid, "👍"))
    found = as_(*MENTOR).get("/messages/search?q=hello").get_json()["messages"]
    assert found[0]["reactions"] == [{"emoji": "👍", "count": 1, "mine": False}]
    listed = as_(*STUDENT).get("/conversations").get_json()["conversations"][0]
    assert listed["last_message"]["reactions"] == [{"emoji": "👍", "count": 1, "mine": True}]


def test_message_events_do_not_carry_reactions(as_, chat, events):
    cid, mid = chat
    as_(*STUDENT).put(path(mid, "👍"))
    as_(*MENTOR).patch(f"/messages/{mid}", json={"body": "edited"})
    for event in events(f"conversation:{cid}"):
        if event.type.startswith("message:"):
            assert '"reactions"' not in event.data


def test_a_person_has_at_most_20_different_reactions_on_a_message(app, as_, chat):
    _, mid = chat
    faces = [chr(0x1F600 + i) for i in range(21)]
    for face in faces[:20]:
        assert as_(*STUDENT).put(path(mid, face)).status_code == 201
    refused = as_(*STUDENT).put(path(mid, faces[20]))
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "too_many_reactions"
    assert len(reaction_rows(app)) == 20
