"""GET /activity over HTTP: what a principal's feed holds, filters, pages, and what it never shows."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from api import periodic
from tests.mentorship.conftest import ADMIN, MENTOR, OTHER_MENTOR, OTHER_STUDENT, STUDENT, events_by_room
from tests.mentorship.session_helpers import at, schedule, z
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


# Sessions

def _session_life(api, app):
    """A session of the mentor and STUDENT moved, reminded of, held and attended; another one cancelled."""
    api.profile(MENTOR)
    rel = api.active(STUDENT, MENTOR)
    held = schedule(api, rel, at(minutes=30), description="agenda: zanzibar")
    api.ok(api.patch(f"/sessions/{held['id']}", MENTOR, json={"location": "room 4"}))
    periodic.run_due(app, at(minutes=25))  # its 10-minute reminder goes out
    cancelled = schedule(api, rel, at(hours=48))
    api.ok(api.post(f"/sessions/{cancelled['id']}/cancel", MENTOR, json={"reason": "clash"}))
    api.ok(api.patch(f"/sessions/{held['id']}", MENTOR, json={"starts_at": z(at(minutes=-5)),
                                                               "ends_at": z(at(minutes=55))}))
    api.ok(api.post(f"/sessions/{held['id']}/complete", MENTOR))
    api.ok(api.put(f"/sessions/{held['id']}/attendance", MENTOR,
                   json=[{"principal": {"role": "student", "id": STUDENT[1]}, "status": "late"}]))
    return rel, held, cancelled


SESSION_LIFE = ["session_attendance", "session_completed", "session_updated", "session_cancelled",
                "session_created", "session_updated", "session_created"]


def test_the_host_and_the_attendees_see_each_session_change(app, api):
    _, held, cancelled = _session_life(api, app)
    for who in (MENTOR, STUDENT):
        items = api.ok(api.get("/activity", who))["activity"]
        assert [item["type"] for item in items][:7] == SESSION_LIFE
        attended, gone = items[0]["data"], items[3]["data"]
        assert attended["id"] == held["id"] and attended["status"] == "completed"
        assert attended["attendees"][0]["attendance"] == "late"
        assert gone["id"] == cancelled["id"] and gone["cancel_reason"] == "clash"
    # The reminder went to the student's room, but is a nudge, not a feed item.
    assert "session:reminder" in [type_ for type_, _ in events_by_room(app)[f"student:{STUDENT[1]}"]]
    assert _types(api, STUDENT, "?types=session_cancelled,session_completed") == ["session_completed",
                                                                                 "session_cancelled"]
    response = api.get("/activity?types=session_reminder", STUDENT)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "validation_failed"


def test_outsiders_see_nothing_of_a_session(app, api):
    _session_life(api, app)
    for outsider in (OTHER_MENTOR, OTHER_STUDENT, ADMIN, ("service", 1)):
        assert api.ok(api.get("/activity", outsider)) == {"activity": [], "next_before": None}
        assert "zanzibar" not in json.dumps(api.ok(api.get("/activity", outsider)))


def test_a_group_session_reaches_each_attendee_and_an_admin_host(api):
    api.profile(MENTOR)
    api.active(STUDENT, MENTOR)
    start = at(hours=24)
    api.ok(api.post("/sessions", ADMIN, json={
        "title": "Town hall", "starts_at": z(start), "ends_at": z(start + dt.timedelta(hours=1)),
        "attendees": [{"role": "mentor", "id": MENTOR[1]}, {"role": "student", "id": OTHER_STUDENT[1]}]}), 201)
    for who in (ADMIN, MENTOR, OTHER_STUDENT):
        assert _types(api, who, "?types=session_created") == ["session_created"]
    assert _types(api, STUDENT, "?types=session_created") == []


def test_a_former_mentee_keeps_what_they_were_told_and_hears_nothing_after(app, api):
    rel, _, _ = _session_life(api, app)
    coming = schedule(api, rel, at(hours=72))
    api.ok(api.post(f"/relationships/{rel['id']}/end", MENTOR, json={"reason": "moved"}))
    student_feed = _types(api, STUDENT)
    # Ending the relationship cancelled the session to come, and told the student.
    assert student_feed[:3] == ["relationship_ended", "session_cancelled", "session_created"]
    assert api.ok(api.get("/activity", STUDENT))["activity"][1]["data"]["id"] == coming["id"]
    schedule(api, api.active(OTHER_STUDENT, MENTOR), at(hours=96))
    assert _types(api, STUDENT) == student_feed
    assert _types(api, MENTOR)[0] == "session_created"


@pytest.mark.parametrize("query", [
    "types=bogus", "types=", "types=note,,goal_created", "types=note%00", "types=NOTE", "before=0", "before=-1",
    "before=abc", "before=99999999999999999999999", "limit=0", "limit=101", "limit=x",
])
def test_bad_feed_input_is_422(api, query):
    response = api.get(f"/activity?{query}", STUDENT)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert response.get_json()["error"]["details"]
