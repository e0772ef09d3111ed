"""The audit trail: every change to relationships, goals, profiles and needs
leaves an entry (who, when, request id, before and after) in the change's
own transaction; GET /audit lists them for admins and services."""
from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import func, select, text

from api.extensions import db
from shared.models import AuditEntry, Relationship
from tests.mentorship.conftest import ADMIN, MENTOR, OTHER_MENTOR, OTHER_STUDENT, STUDENT

SERVICE = ("service", 1)


def trail(api, query=""):
    return api.ok(api.get(f"/audit?{query}", ADMIN))["entries"]


def last(api, entity, entity_id):
    return trail(api, f"entity={entity}&id={entity_id}&limit=1")[0]


def test_a_relationship_s_life_is_in_the_trail(api):
    rel = api.pending()
    api.ok(api.post(f"/relationships/{rel['id']}/accept", MENTOR, json={"reason": "welcome"}))
    api.ok(api.post(f"/relationships/{rel['id']}/end", ADMIN, json={"reason": "policy"}))
    entries = trail(api, f"entity=relationship&id={rel['id']}")
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("ended", {"role": "admin", "id": 1}),
        ("accepted", {"role": "mentor", "id": 11}),
        ("requested", {"role": "student", "id": 21}),
    ]
    ended, accepted, requested = entries
    assert requested["before"] is None and requested["after"]["status"] == "pending"
    assert requested["after"]["mentor_id"] == 11 and requested["after"]["requested_by"] == "student"
    assert accepted["before"] == {"status": "pending", "response_reason": None, "responded_at": None}
    assert accepted["after"]["status"] == "active" and accepted["after"]["response_reason"] == "welcome"
    assert set(ended["after"]) == {"status", "end_reason", "ended_by_role", "ended_by_id", "ended_at"}
    assert all(e["created_at"].endswith("Z") and e["entity_id"] == rel["id"] for e in entries)


@pytest.mark.parametrize("action, who", [("decline", MENTOR), ("cancel", STUDENT)])
def test_declines_and_cancels_are_in_the_trail(api, action, who):
    rel = api.pending()
    api.ok(api.post(f"/relationships/{rel['id']}/{action}", who, json={"reason": "no"}))
    entry = last(api, "relationship", rel["id"])
    assert entry["action"] == {"decline": "declined", "cancel": "cancelled"}[action]
    assert entry["after"]["status"] == entry["action"] and entry["actor"] == {"role": who[0], "id": who[1]}


def test_goal_changes_are_in_the_trail_and_a_no_op_patch_writes_none(api):
    rel = api.active()
    goal = api.goal(rel, title="Learn SQL")
    api.ok(api.patch(f"/goals/{goal['id']}", MENTOR, json={"status": "completed"}))
    api.ok(api.patch(f"/goals/{goal['id']}", MENTOR, json={"status": "completed"}))  # nothing changes
    assert api.delete(f"/goals/{goal['id']}", STUDENT).status_code == 204
    deleted, updated, created = trail(api, f"entity=goal&id={goal['id']}")
    assert (created["action"], created["before"], created["after"]["title"]) == ("created", None, "Learn SQL")
    assert updated["before"] == {"status": "not_started", "progress": 0, "completed_at": None}
    assert updated["after"]["status"] == "completed" and updated["after"]["progress"] == 100
    assert updated["actor"] == {"role": "mentor", "id": 11}
    assert deleted["after"] is None and deleted["before"]["title"] == "Learn SQL"


def test_profile_and_needs_changes_are_in_the_trail(api):
    api.profile(display_name="Ada")
    api.profile(display_name="Ada L.", skills=["python"])
    updated, created = trail(api, "entity=mentor_profile&id=11")
    assert created["action"] == "created" and created["after"]["display_name"] == "Ada"
    assert (updated["before"], updated["after"]) == ({"display_name": "Ada"}, {"display_name": "Ada L."})
    api.profile(display_name="Ada L.", skills=["python"])  # the same again: no entry
    assert len(trail(api, "entity=mentor_profile&id=11")) == 2
    api.needs(open_to_offers=True)
    api.needs(open_to_offers=False, timezone="UTC")
    updated, created = trail(api, "entity=student_needs&id=21")
    assert created["after"]["open_to_offers"] is True
    assert updated["before"] == {"open_to_offers": True, "timezone": None}
    assert updated["after"] == {"open_to_offers": False, "timezone": "UTC"}


def test_an_offer_that_creates_the_mentor_s_empty_profile_records_it(api):
    api.needs()
    api.offer()
    created = last(api, "mentor_profile", MENTOR[1])
    assert created["action"] == "created" and created["actor"] == {"role": "mentor", "id": 11}


def test_the_request_id_is_the_response_s(api):
    api.profile()
    headers = {**api.auth(*STUDENT), "X-Request-ID": "req-42"}
    response = api.client.post("/api/v1/relationships", json={"mentor_id": 11}, headers=headers)
    assert response.status_code == 201 and response.headers["X-Request-ID"] == "req-42"
    assert last(api, "relationship", response.get_json()["id"])["request_id"] == response.headers["X-Request-ID"]
    generated = api.post(f"/relationships/{response.get_json()['id']}/cancel", STUDENT)
    entry = last(api, "relationship", response.get_json()["id"])
    assert entry["request_id"] == generated.headers["X-Request-ID"] and len(entry["request_id"]) == 32


@contextlib.contextmanager
def refusing_inserts_into(app, table):
    """A trigger that makes the database refuse every insert into `table`: a
    change failing half-way, after its audit entry was written."""
    with app.app_context():
        engine = db.engine
    name = f"refuse_{table}"
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text(f"CREATE TRIGGER {name} BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'no'); END"))
        else:
            conn.execute(text(f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW "
                              "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no'"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TRIGGER {name}"))


def counted(app, model, *where):
    with app.app_context():
        try:
            return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar()
        finally:
            db.session.remove()


def test_a_change_that_fails_after_its_audit_entry_leaves_no_entry(api, app):
    api.profile()
    with refusing_inserts_into(app, "notifications"):  # a request notifies the mentor last
        response = api.post("/relationships", STUDENT, json={"mentor_id": 11})
    assert response.status_code >= 400 and response.get_json()["error"]["code"]
    assert counted(app, Relationship) == 0
    assert counted(app, AuditEntry, AuditEntry.entity == "relationship") == 0
    rel = api.active()
    with refusing_inserts_into(app, "events"):  # a goal is announced after its audit entry
        response = api.post(f"/relationships/{rel['id']}/goals", STUDENT, json={"title": "x"})
    assert response.status_code >= 400
    assert counted(app, AuditEntry, AuditEntry.entity == "goal") == 0


def test_a_refused_change_writes_no_entry(api, app):
    api.active()
    api.profile(max_mentees=1)
    before = counted(app, AuditEntry)
    assert api.post("/relationships", OTHER_STUDENT, json={"mentor_id": 11}).status_code == 409
    assert api.put("/mentors/me/profile", MENTOR, json={"timezone": "Nowhere"}).status_code == 422
    assert counted(app, AuditEntry) == before


def test_listing_filters_and_pages(api):
    api.profile()
    rels = [api.request(student=("student", 30 + i)) for i in range(3)]
    everything = trail(api)
    assert [e["entity"] for e in everything] == ["relationship"] * 3 + ["mentor_profile"]
    assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)
    page = api.ok(api.get("/audit?entity=relationship&limit=2", SERVICE))
    assert [e["entity_id"] for e in page["entries"]] == [rels[2]["id"], rels[1]["id"]]
    rest = api.ok(api.get(f"/audit?entity=relationship&limit=2&before={page['next_before']}", SERVICE))
    assert [e["entity_id"] for e in rest["entries"]] == [rels[0]["id"]] and rest["next_before"] is None
    assert trail(api, "entity=goal") == [] and trail(api, "entity=relationship&id=999999") == []


@pytest.mark.parametrize("query, field", [
    ("id=1", "id"), ("entity=Goal", "entity"), ("entity=goal;drop", "entity"), ("entity=" + "a" * 33, "entity"),
    ("entity=goal&id=abc", "id"), ("entity=goal&id=0", "id"), ("before=-1", "before"), ("limit=101", "limit"),
])
def test_bad_audit_queries_are_422(api, query, field):
    response = api.get(f"/audit?{query}", ADMIN)
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    assert field in details.get("query", details), details


def test_only_admins_and_services_read_the_trail_not_members_nor_former_members(api):
    rel = api.active()
    api.ok(api.post(f"/relationships/{rel['id']}/end", STUDENT, json={"reason": "done"}))
    for who in (STUDENT, MENTOR, OTHER_STUDENT, OTHER_MENTOR):
        response = api.get(f"/audit?entity=relationship&id={rel['id']}", who)
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "role_not_allowed"
    for who in (ADMIN, SERVICE):
        assert api.ok(api.get(f"/audit?entity=relationship&id={rel['id']}", who))["entries"]
