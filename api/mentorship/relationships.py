"""Mentorship relationships: request or offer, answer, cancel, end, list."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import false, select

from api.auth import authenticated, current_principal, require_roles
from api.extensions import db
from api.mentorship import lifecycle
from api.mentorship.access import STAFF, visible_relationship
from api.mentorship.schemas import (
    CreateIn,
    EndIn,
    ListQuery,
    ReasonIn,
    RelationshipOut,
    RelationshipPage,
    relationship_dict,
)
from shared.models import Relationship

blp = Blueprint("relationships", __name__, url_prefix="/api/v1/relationships", description="Mentorship relationships")

def _listing(query: dict) -> list[Relationship]:
    me = current_principal()
    stmt = select(Relationship).order_by(Relationship.id.desc()).limit(query["limit"])
    if me.role == "mentor":
        stmt = stmt.where(Relationship.mentor_id == me.id)
    elif me.role == "student":
        stmt = stmt.where(Relationship.student_id == me.id)
    elif me.role not in STAFF:
        stmt = stmt.where(false())
    for name in ("status", "mentor_id", "student_id"):
        if name in query:
            stmt = stmt.where(getattr(Relationship, name) == query[name])
    if "before" in query:
        stmt = stmt.where(Relationship.id < query["before"])
    return list(db.session.execute(stmt).scalars())


@blp.route("", methods=["POST"])
@require_roles("mentor", "student")
@blp.arguments(CreateIn)
@blp.response(201, RelationshipOut)
@lifecycle.retry_on_deadlock
def create_relationship(body):
    """Request a mentor (student: `mentor_id`) or offer to mentor a student (mentor: `student_id`)."""
    rel = lifecycle.create(current_principal(), body)
    db.session.commit()
    return relationship_dict(rel)


@blp.route("")
@authenticated
@blp.arguments(ListQuery, location="query")
@blp.response(200, RelationshipPage)
def list_relationships(query):
    """The caller's relationships, newest first (admins: all); pass `next_before` back as `before`."""
    rows = _listing(query)
    next_before = rows[-1].id if len(rows) == query["limit"] else None
    return {"relationships": [relationship_dict(r) for r in rows], "next_before": next_before}


@blp.route("/<int(max=2147483647):rel_id>")
@authenticated
@blp.response(200, RelationshipOut)
def get_relationship(rel_id):
    """One relationship (members and admins)."""
    return relationship_dict(visible_relationship(rel_id, current_principal()))


def _transition_view(action: str, schema: type[ma.Schema], doc: str):
    def view(body, rel_id):
        rel = lifecycle.transition(rel_id, action, current_principal(), reason=body.get("reason"))
        db.session.commit()
        return relationship_dict(rel)

    # The docstring must be set before flask-smorest reads it at registration.
    view.__doc__, view.__name__ = doc, action
    view = blp.arguments(schema)(blp.response(200, RelationshipOut)(lifecycle.retry_on_deadlock(view)))
    return blp.route(f"/<int(max=2147483647):rel_id>/{action}", methods=["POST"])(authenticated(view))


accept = _transition_view("accept", ReasonIn, "Accept a pending request or offer (the party that was asked).")
decline = _transition_view("decline", ReasonIn, "Decline a pending request or offer (the party that was asked).")
cancel = _transition_view("cancel", ReasonIn, "Cancel your own pending request or offer.")
end = _transition_view("end", EndIn, "End an active relationship with a reason (either member or an admin).")
