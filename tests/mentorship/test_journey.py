"""The whole journey over real HTTP with real tokens, as a user would do it."""
from __future__ import annotations

from tests.mentorship.conftest import MENTOR, STUDENT, events_by_room


def test_full_journey(live, app):
    profile = live.ok("PUT", "/mentors/me/profile", MENTOR, {
        "sectors": ["Fintech", "Health"], "skills": ["Python", "SQL", "Leadership"],
        "languages": ["English", "French"], "max_mentees": 3,
    })
    assert profile["capacity"] == 3 and profile["accepting"] is True
    live.ok("PUT", "/students/me/needs", STUDENT, {
        "sectors": ["fintech"], "skills": ["python", "sql", "rust", "go"], "languages": ["english"],
        "goals": "Get a backend job",
    })

    matches = live.ok("GET", "/matches?limit=5", STUDENT)["matches"]
    assert matches[0]["role"] == "mentor" and matches[0]["id"] == MENTOR[1]
    assert matches[0]["score"] == 80  # 40 * 1/1 + 40 * 2/4 + 20 * 1/1
    skills = {"weight": 40, "wanted": 4, "matched": ["python", "sql"], "points": 20.0}
    assert matches[0]["breakdown"]["skills"] == skills

    rel = live.ok("POST", "/relationships", STUDENT, {"mentor_id": MENTOR[1], "message": "Hi!"}, status=201)
    assert rel["match_score"] == 80
    assert live.ok("GET", "/matches", STUDENT)["matches"] == []  # already related
    rel = live.ok("POST", f"/relationships/{rel['id']}/accept", MENTOR, {"reason": "Welcome"})
    assert rel["status"] == "active"

    g1 = live.ok("POST", f"/relationships/{rel['id']}/goals", STUDENT, {"title": "Learn SQL", "priority": "high"}, 201)
    g2 = live.ok("POST", f"/relationships/{rel['id']}/goals", MENTOR, {"title": "Mock interview",
                                                                      "target_date": "2030-01-31"}, 201)
    done1 = live.ok("PATCH", f"/goals/{g1['id']}", STUDENT, {"status": "completed"})
    assert done1["completed_at"] and done1["progress"] == 100
    done2 = live.ok("PATCH", f"/goals/{g2['id']}", MENTOR, {"status": "completed", "progress": 100})
    assert done2["completed_at"]
    live.ok("POST", f"/relationships/{rel['id']}/activities", MENTOR, {"text": "Great progress"}, 201)
    ended = live.ok("POST", f"/relationships/{rel['id']}/end", STUDENT, {"reason": "Got the job"})
    assert ended["status"] == "ended" and ended["ended_by"] == {"role": "student", "id": 21}

    log = live.ok("GET", f"/relationships/{rel['id']}/activities", MENTOR)["activities"]
    assert [(a["kind"], a["actor"]["role"]) for a in log] == [
        ("relationship_requested", "student"),
        ("relationship_accepted", "mentor"),
        ("goal_created", "student"),
        ("goal_created", "mentor"),
        ("goal_updated", "student"),
        ("goal_updated", "mentor"),
        ("note", "mentor"),
        ("relationship_ended", "student"),
    ]
    assert log[4]["details"]["changes"]["status"] == {"before": "not_started", "after": "completed"}
    assert log[-1]["details"] == {"status": {"before": "active", "after": "ended"}, "reason": "Got the job"}
    # Ended: still readable by members, but frozen.
    assert len(live.ok("GET", f"/relationships/{rel['id']}/goals", STUDENT)["goals"]) == 2
    code, body = live.call("PATCH", f"/goals/{g1['id']}", STUDENT, {"progress": 50})
    assert (code, body["error"]["code"]) == (409, "relationship_not_active")

    rooms = events_by_room(app)
    assert rooms["student:21"][2][0] == "conversation:created"
    conversation_id = rooms["student:21"][2][1]["id"]
    assert [t for t, _ in rooms["student:21"]] == [
        "relationship:requested", "activity:created",
        "conversation:created", "relationship:accepted", "activity:created", "notification:created",
        "goal:created", "activity:created",
        "goal:created", "activity:created",
        "goal:updated", "activity:created",
        "goal:updated", "activity:created",
        "activity:created",
        "relationship:ended", "activity:created",
    ]
    assert [t for t, _ in rooms["mentor:11"]] == [
        "relationship:requested", "activity:created", "notification:created",
        "conversation:created", "relationship:accepted", "activity:created",
        "goal:created", "activity:created",
        "goal:created", "activity:created",
        "goal:updated", "activity:created",
        "goal:updated", "activity:created",
        "activity:created",
        "relationship:ended", "activity:created", "notification:created",
    ]
    assert rooms["mentor:11"][2][1]["type"] == "relationship_requested"
    assert rooms["student:21"][5][1]["type"] == "relationship_accepted"
    assert rooms["mentor:11"][-1][1]["type"] == "relationship_ended"
    assert rooms["mentor:11"][-1][1]["body"] == "Got the job"
    assert set(rooms) == {"mentor:11", "student:21"}  # nothing leaked to anyone else
    assert live.ok("GET", f"/conversations/{conversation_id}", STUDENT)["type"] == "mentorship"
