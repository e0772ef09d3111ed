"""What every mentorship view shares: who may see a relationship, its wire
form, and the activity + events written with each change.

Views call these inside their transaction, so a change, its activity row and
its events commit (or roll back) together.
"""
from __future__ import annotations

from api.extensions import db
from api.outbox import request_id
from shared import rooms
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import record_event
from shared.models import Activity, Goal, Relationship
from shared.timeutil import isoformat_z

# Roles that read every relationship (back office, PHP backends).
STAFF = ("admin", "service")


def mentor_of(rel: Relationship) -> Principal:
    return Principal("mentor", rel.mentor_id)


def student_of(rel: Relationship) -> Principal:
    return Principal("student", rel.student_id)


def members(rel: Relationship) -> list[Principal]:
    return [mentor_of(rel), student_of(rel)]


def is_member(rel: Relationship, principal: Principal) -> bool:
    return principal in members(rel)


def visible_relationship(rel_id: int, principal: Principal, lock: bool = False) -> Relationship:
    """The relationship if the caller is a member or staff; 404 otherwise
    (a stranger must not learn that it exists). `lock` takes the row lock
    that serialises every change to one relationship."""
    rel = db.session.get(Relationship, rel_id, with_for_update=lock or None, populate_existing=lock)
    if rel is None or not (principal.role in STAFF or is_member(rel, principal)):
        raise NotFound(f"relationship {rel_id} not found", code="relationship_not_found")
    return rel


def writable_relationship(rel_id: int, principal: Principal) -> Relationship:
    """For goals and notes: members of an active relationship only."""
    rel = visible_relationship(rel_id, principal, lock=True)
    if not is_member(rel, principal):
        raise Forbidden("only the mentor and the student of a relationship change it", code="members_only")
    if rel.status != "active":
        raise Conflict(
            f"relationship {rel.id} is {rel.status}; goals and notes change only while it is active",
            code="relationship_not_active",
            details={"status": rel.status},
        )
    return rel


def relationship_dict(rel: Relationship) -> dict:
    ended_by = Principal(rel.ended_by_role, rel.ended_by_id).as_dict() if rel.ended_by_role else None
    return {
        "id": rel.id,
        "mentor_id": rel.mentor_id,
        "student_id": rel.student_id,
        "status": rel.status,
        "requested_by": rel.requested_by,
        "request_message": rel.request_message,
        "match_score": rel.match_score,
        "response_reason": rel.response_reason,
        "end_reason": rel.end_reason,
        "ended_by": ended_by,
        "created_at": isoformat_z(rel.created_at),
        "updated_at": isoformat_z(rel.updated_at),
        "responded_at": isoformat_z(rel.responded_at),
        "ended_at": isoformat_z(rel.ended_at),
    }


def goal_dict(goal: Goal) -> dict:
    return {
        "id": goal.id,
        "relationship_id": goal.relationship_id,
        "title": goal.title,
        "description": goal.description,
        "status": goal.status,
        "priority": goal.priority,
        "progress": goal.progress,
        "target_date": goal.target_date.isoformat() if goal.target_date else None,
        "completed_at": isoformat_z(goal.completed_at),
        "created_by": Principal(goal.created_by_role, goal.created_by_id).as_dict(),
        "created_at": isoformat_z(goal.created_at),
        "updated_at": isoformat_z(goal.updated_at),
    }


def activity_dict(activity: Activity) -> dict:
    return {
        "id": activity.id,
        "relationship_id": activity.relationship_id,
        "actor": Principal(activity.actor_role, activity.actor_id).as_dict(),
        "kind": activity.kind,
        "text": activity.text,
        "details": activity.details or {},
        "created_at": isoformat_z(activity.created_at),
    }


def announce(rel: Relationship, type_: str, data: dict) -> None:
    """One event per member's personal room, in this transaction."""
    for member in members(rel):
        record_event(db.session, rooms.personal(member), type_, data, request_id=request_id())


def log_activity(
    rel: Relationship, actor: Principal, kind: str, details: dict | None = None, text: str | None = None
) -> Activity:
    """Append to the relationship's log and tell both members."""
    row = Activity(
        relationship_id=rel.id, actor_role=actor.role, actor_id=actor.id, kind=kind, text=text, details=details
    )
    db.session.add(row)
    db.session.flush()
    announce(rel, "activity:created", activity_dict(row))
    return row
