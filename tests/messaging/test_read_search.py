"""Read markers, unread counts and search."""
from __future__ import annotations

import pytest

from tests.messaging.conftest import send


def unread(user):
    return user.get("/unread").get_json()


def test_read_marker_moves_forward_only_and_unread_follows(as_, mentorship, events):
    cid = mentorship(1, 2)
    mentor, student = as_("mentor", 1), as_("student", 2)
    assert unread(student) == {"total": 0, "conversations": [], "notifications": 0}
    ids = [send(mentor, cid, f"m{i}")["id"] for i in range(3)]
    send(student, cid, "mine do not count")  # also moves the student's marker past m0..m2
    assert unread(student)["total"] == 0
    ids += [send(mentor, cid, f"n{i}")["id"] for i in range(2)]
    assert unread(student)["conversations"] == [{"id": cid, "unread": 2}]
    r = student.post(f"/conversations/{cid}/read", json={"message_id": ids[3]})
    assert r.status_code == 200 and r.get_json()["last_read_message_id"] == ids[3]
    older = student.post(f"/conversations/{cid}/read", json={"message_id": ids[0]})
    assert older.status_code == 200 and older.get_json()["last_read_message_id"] == ids[3]
    assert unread(student)["total"] == 1
    # Deleted messages do not count.
    as_("mentor", 1).delete(f"/messages/{ids[4]}")
    assert unread(student)["total"] == 0
    reads = events(f"conversation:{cid}", "conversation:read")
    assert len(reads) == 1  # the backwards move emitted nothing
    parts = {(p["role"], p["id"]): p for p in student.get(f"/conversations/{cid}").get_json()["participants"]}
    assert parts[("student", 2)]["last_read_message_id"] == ids[3] and parts[("student", 2)]["last_read_at"]


def test_read_marker_needs_a_message_of_that_conversation(as_, mentorship):
    a, b = mentorship(1, 2), mentorship(3, 4)
    foreign = send(as_("mentor", 3), b)
    r = as_("student", 2).post(f"/conversations/{a}/read", json={"message_id": foreign["id"]})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "message_not_in_conversation"


def test_search_finds_only_in_the_callers_conversations(as_, mentorship):
    mine, theirs = mentorship(1, 2), mentorship(3, 4)
    send(as_("mentor", 1), mine, "Let us discuss the quarterly budget tomorrow")
    send(as_("mentor", 3), theirs, "Their budget is private")
    gone = send(as_("mentor", 1), mine, "budget draft to delete")
    as_("mentor", 1).delete(f"/messages/{gone['id']}")
    found = as_("student", 2).get("/messages/search?q=budget").get_json()["messages"]
    assert [m["conversation_id"] for m in found] == [mine]
    assert "quarterly budget" in found[0]["body"]
    assert as_("student", 4).get("/messages/search?q=quarterly").get_json()["messages"] == []
    both = as_("student", 2).get("/messages/search?q=BUDGET%20quarterly").get_json()["messages"]
    assert [m["id"] for m in both] == [found[0]["id"]]
    assert as_("student", 2).get("/messages/search?q=budget%20nowhere").get_json()["messages"] == []


def test_search_pages_by_id(as_, mentorship):
    cid = mentorship(1, 2)
    ids = [send(as_("mentor", 1), cid, f"meeting number {i}")["id"] for i in range(5)]
    page = as_("mentor", 1).get("/messages/search?q=meeting&limit=2").get_json()
    assert [m["id"] for m in page["messages"]] == ids[::-1][:2]
    page2 = as_("mentor", 1).get(f"/messages/search?q=meeting&limit=2&before={page['next_before']}").get_json()
    assert [m["id"] for m in page2["messages"]] == ids[::-1][2:4]


@pytest.mark.parametrize(
    "q, code",
    [
        ("", "validation_failed"),
        ("ab", "query_too_short"),
        ("   ", "query_too_short"),
        ("a b c d", "query_no_terms"),
        ("the was for", "query_no_terms"),
        ('+-"*()<>~@', "query_no_terms"),
        ("x" * 201, "validation_failed"),
    ],
)
def test_bad_search_queries_are_422(as_, q, code):
    r = as_("student", 1).get("/messages/search", query_string={"q": q})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == code


def test_boolean_operators_in_the_query_are_just_text(as_, mentorship):
    cid = mentorship(1, 2)
    send(as_("mentor", 1), cid, "budget review")
    for q in ['budget -review', '"budget', 'budget*', '+budget +(review', "budget' OR 1=1 --", "%budget%"]:
        r = as_("student", 2).get("/messages/search", query_string={"q": q})
        assert r.status_code == 200, (q, r.get_json())
    found = as_("student", 2).get("/messages/search", query_string={"q": "budget -review"}).get_json()
    assert len(found["messages"]) == 1  # "-review" is the word "review", not an exclusion
