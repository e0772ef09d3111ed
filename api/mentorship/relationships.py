"""Mentorship relationships: request or offer, answer, cancel, end, list."""
from __future__ import annotations

import marshmallow as ma
from sqlalchemy import false, select

from api.auth import current_principal
from api.docs import Blueprint
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
)
from shared.models import Relationship

blp = Blueprint("relationships", __name__, url_prefix="/api/v1/relationships", description="Mentorship relationships")
REL = "/<int(max=2147483647):rel_id>"


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
@blp.authenticated("mentor", "student")
@blp.arguments(CreateIn)
@blp.response(201, RelationshipOut)
@blp.errors(409)
@lifecycle.retry_on_deadlock
def create_relationship(body):
    """Request a mentor (student: `mentor_id`) or offer to mentor a student (mentor: `student_id`)."""
    rel = lifecycle.create(current_principal(), body)
    db.session.commit()
    return rel


@blp.route("")
@blp.authenticated()
@blp.arguments(ListQuery, location="query")
@blp.response(200, RelationshipPage)
def list_relationships(query):
    """The caller's relationships, newest first (admins: all); pass `next_before` back as `before`."""
    rows = _listing(query)
    next_before = rows[-1].id if len(rows) == query["limit"] else None
    return {"relationships": rows, "next_before": next_before}


@blp.route(REL)
@blp.authenticated()
@blp.response(200, RelationshipOut)
@blp.errors(404)
def get_relationship(rel_id):
    """One relationship (members and admins)."""
    return visible_relationship(rel_id, current_principal())


def _transition_view(action: str, schema: type[ma.Schema], doc: str):
    def view(body, rel_id):
        rel = lifecycle.transition(rel_id, action, current_principal(), reason=body.get("reason"))
        db.session.commit()
        return rel

    # The docstring must be set before flask-smorest reads it at registration.
    view.__doc__, view.__name__ = doc, action
    view = blp.errors(403, 404, 409)(lifecycle.retry_on_deadlock(view))
    view = blp.authenticated()(blp.arguments(schema)(blp.response(200, RelationshipOut)(view)))
    return blp.route(f"{REL}/{action}", methods=["POST"])(view)


accept = _transition_view("accept", ReasonIn, "Accept a pending request or offer (the party that was asked).")
decline = _transition_view("decline", ReasonIn, "Decline a pending request or offer (the party that was asked).")
cancel = _transition_view("cancel", ReasonIn, "Cancel your own pending request or offer.")
end = _transition_view("end", EndIn, "End an active relationship with a reason (either member or an admin).")
