"""Goals follow their status; the activity log pages by id and records every change."""
from __future__ import annotations

from tests.mentorship.conftest import ADMIN, MENTOR, STUDENT, events_by_room


def test_goal_defaults_and_completed_at_follows_status(api):
    rel = api.active()
    goal = api.goal(rel, description="d", target_date="2030-05-01")
    assert (goal["status"], goal["priority"], goal["progress"]) == ("not_started", "medium", 0)
    assert goal["target_date"] == "2030-05-01" and goal["completed_at"] is None
    assert goal["created_by"] == {"role": "student", "id": 21}
    done = api.ok(api.patch(f"/goals/{goal['id']}", MENTOR, json={"status": "completed", "progress": 90}))
    assert done["completed_at"] and done["progress"] == 90
    again = api.ok(api.patch(f"/goals/{goal['id']}", STUDENT, json={"title": "Renamed"}))
    assert again["completed_at"] == done["completed_at"]  # unchanged while still completed
    reopened = api.ok(api.patch(f"/goals/{goal['id']}", STUDENT, json={"status": "in_progress"}))
    assert reopened["completed_at"] is None
    created_done = api.goal(rel, status="completed")
    assert created_done["completed_at"] and created_done["progress"] == 100


def test_goal_changes_are_logged_with_before_and_after(api, app):
    rel = api.active()
    goal = api.goal(rel)
    api.ok(api.patch(f"/goals/{goal['id']}", MENTOR, json={"priority": "high", "target_date": "2031-01-01"}))
    api.ok(api.patch(f"/goals/{goal['id']}", MENTOR, json={"priority": "high"}))  # no change: no entry
    assert api.delete(f"/goals/{goal['id']}", STUDENT).status_code == 204
    log = api.items(f"/relationships/{rel['id']}/activities", ADMIN)
    assert [a["kind"] for a in log][-3:] == ["goal_created", "goal_updated", "goal_deleted"]
    assert log[-2]["details"]["changes"] == {
        "priority": {"before": "medium", "after": "high"},
        "target_date": {"before": None, "after": "2031-01-01"},
    }
    assert log[-1]["details"] == {"goal_id": goal["id"], "title": "Ship it"}
    assert api.items(f"/relationships/{rel['id']}/goals", MENTOR) == []
    student_events = [t for t, _ in events_by_room(app)["student:21"]]
    assert student_events[-6:] == [
        "goal:created", "activity:created", "goal:updated", "activity:created", "goal:deleted", "activity:created",
    ]
    deleted = [d for t, d in events_by_room(app)["mentor:11"] if t == "goal:deleted"]
    assert deleted == [{"id": goal["id"], "relationship_id": rel["id"]}]


def test_goals_of_pending_or_ended_relationships_are_read_only(api):
    pending = api.pending()
    response = api.post(f"/relationships/{pending['id']}/goals", STUDENT, json={"title": "x"})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "relationship_not_active"
    api.ok(api.post(f"/relationships/{pending['id']}/accept", MENTOR))
    goal = api.goal(pending)
    api.ok(api.post(f"/relationships/{pending['id']}/end", MENTOR, json={"reason": "bye"}))
    assert [g["id"] for g in api.items(f"/relationships/{pending['id']}/goals", STUDENT)] == [goal["id"]]
    for response in (
        api.patch(f"/goals/{goal['id']}", STUDENT, json={"progress": 3}),
        api.delete(f"/goals/{goal['id']}", MENTOR),
        api.post(f"/relationships/{pending['id']}/goals", STUDENT, json={"title": "x"}),
        api.post(f"/relationships/{pending['id']}/activities", STUDENT, json={"text": "x"}),
    ):
        assert response.status_code == 409
        assert "ended" in response.get_json()["error"]["message"]


def test_activities_page_by_id_cursor(api):
    rel = api.active()
    notes = [api.ok(api.post(f"/relationships/{rel['id']}/activities", MENTOR, json={"text": f"n{i}"}), 201)
             for i in range(5)]
    everything = api.items(f"/relationships/{rel['id']}/activities", STUDENT)
    ids = [a["id"] for a in everything]
    assert ids == sorted(ids) and len(ids) == 7  # requested, accepted, 5 notes
    last_two = api.items(f"/relationships/{rel['id']}/activities?limit=2", STUDENT)
    assert [a["text"] for a in last_two] == ["n3", "n4"]
    older = api.items(f"/relationships/{rel['id']}/activities?limit=2&before={last_two[0]['id']}", STUDENT)
    assert [a["text"] for a in older] == ["n1", "n2"]
    newer = api.items(f"/relationships/{rel['id']}/activities?limit=3&after={notes[0]['id']}", STUDENT)
    assert [a["text"] for a in newer] == ["n1", "n2", "n3"]
    assert notes[0]["actor"] == {"role": "mentor", "id": 11} and notes[0]["kind"] == "note"


def test_a_note_is_announced_to_both_members(api, app):
    rel = api.active()
    note = api.ok(api.post(f"/relationships/{rel['id']}/activities", STUDENT, json={"text": "hello"}), 201)
    rooms = events_by_room(app)
    for room in ("mentor:11", "student:21"):
        assert rooms[room][-1] == ("activity:created", note)


def test_activity_pages_say_whether_more_remain(api):
    rel = api.active()  # two entries: requested, accepted
    path = f"/relationships/{rel['id']}/activities"
    first = api.ok(api.get(f"{path}?limit=1", STUDENT))
    assert first["has_more"] is True and len(first["activities"]) == 1
    rest = api.ok(api.get(f"{path}?limit=1&before={first['activities'][0]['id']}", STUDENT))
    assert rest["has_more"] is False and rest["activities"][0]["kind"] == "relationship_requested"
    assert api.ok(api.get(f"{path}?limit=5", STUDENT))["has_more"] is False
