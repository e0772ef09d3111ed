"""Goals of a relationship: members of an active one change them, admins read."""
from __future__ import annotations

from sqlalchemy import select

from api import audit_trail
from api.auth import current_principal
from api.docs import Blueprint
from api.extensions import db
from api.mentorship.access import visible_relationship, writable_relationship
from api.mentorship.activity_log import announce, log_activity
from api.mentorship.schemas import GoalIn, GoalList, GoalOut, GoalPatch, goal_out
from shared.errors import NotFound
from shared.models import Goal
from shared.timeutil import utcnow

blp = Blueprint("goals", __name__, url_prefix="/api/v1", description="Goals of a mentorship")
GOALS = "/relationships/<int(max=2147483647):rel_id>/goals"
GOAL = "/goals/<int(max=2147483647):goal_id>"

TRACKED = ("title", "description", "status", "priority", "progress", "target_date")
AUDITED = ("relationship_id", *TRACKED, "completed_at")


def _apply(goal: Goal, changes: dict) -> dict:
    """Set fields; keep completed_at (and progress 100 unless given) in step with status."""
    if changes.get("status") == "completed" and "progress" not in changes:
        changes = {**changes, "progress": 100}
    diff = {}
    for name, value in changes.items():
        before = getattr(goal, name)
        if before != value:
            diff[name] = {"before": _plain(before), "after": _plain(value)}
            setattr(goal, name, value)
    if goal.status == "completed" and goal.completed_at is None:
        goal.completed_at = utcnow()
    elif goal.status != "completed":
        goal.completed_at = None
    return diff


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _member_goal(goal_id: int, write: bool):
    """The goal and its relationship, with the caller's access checked (404 hides it)."""
    goal = db.session.get(Goal, goal_id)
    if goal is None:
        raise NotFound(f"goal {goal_id} not found", code="goal_not_found")
    me = current_principal()
    try:
        rel = (writable_relationship if write else visible_relationship)(goal.relationship_id, me)
    except NotFound:
        raise NotFound(f"goal {goal_id} not found", code="goal_not_found") from None
    return goal, rel


@blp.route(GOALS)
@blp.authenticated()
@blp.response(200, GoalList)
@blp.errors(404)
def list_goals(rel_id):
    """The relationship's goals, oldest first (members and admins)."""
    visible_relationship(rel_id, current_principal())
    goals = db.session.execute(select(Goal).where(Goal.relationship_id == rel_id).order_by(Goal.id)).scalars()
    return {"goals": list(goals)}


@blp.route(GOALS, methods=["POST"])
@blp.authenticated()
@blp.arguments(GoalIn)
@blp.response(201, GoalOut)
@blp.errors(403, 404, 409)
def create_goal(body, rel_id):
    """Add a goal (members of an active relationship)."""
    me = current_principal()
    rel = writable_relationship(rel_id, me)
    goal = Goal(relationship_id=rel.id, created_by_role=me.role, created_by_id=me.id, title=body["title"], progress=0)
    db.session.add(goal)
    _apply(goal, {"status": "not_started", "priority": "medium", **body})
    db.session.flush()
    audit_trail.record_change("goal", goal.id, "created", None, audit_trail.snapshot(goal, AUDITED))
    announce(rel, "goal:created", goal_out.dump(goal))
    log_activity(rel, me, "goal_created", {"goal_id": goal.id, "title": goal.title, "status": goal.status})
    db.session.commit()
    return goal


@blp.route(GOAL, methods=["PATCH"])
@blp.authenticated()
@blp.arguments(GoalPatch)
@blp.response(200, GoalOut)
@blp.errors(403, 404, 409)
def update_goal(body, goal_id):
    """Change a goal's fields, status or progress (members of an active relationship)."""
    goal, rel = _member_goal(goal_id, write=True)
    before = audit_trail.snapshot(goal, AUDITED)
    diff = _apply(goal, body)
    if diff:
        db.session.flush()
        audit_trail.record_change("goal", goal.id, "updated", before, audit_trail.snapshot(goal, AUDITED))
        announce(rel, "goal:updated", goal_out.dump(goal))
        details = {"goal_id": goal.id, "title": goal.title, "changes": diff}
        log_activity(rel, current_principal(), "goal_updated", details)
    db.session.commit()
    return goal


@blp.route(GOAL, methods=["DELETE"])
@blp.authenticated()
@blp.response(204)
@blp.errors(403, 404, 409)
def delete_goal(goal_id):
    """Delete a goal (members of an active relationship); the log keeps its trace."""
    goal, rel = _member_goal(goal_id, write=True)
    gone = {"id": goal.id, "relationship_id": rel.id}
    audit_trail.record_change("goal", goal.id, "deleted", audit_trail.snapshot(goal, AUDITED), None)
    db.session.delete(goal)
    announce(rel, "goal:deleted", gone)
    log_activity(rel, current_principal(), "goal_deleted", {"goal_id": goal.id, "title": goal.title})
    db.session.commit()

