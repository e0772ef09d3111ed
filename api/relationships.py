"""Mentorship relationships: request or offer, answer, cancel, end, list."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import false, select

from api import lifecycle
from api.auth import authenticated, current_principal, require_roles
from api.extensions import db
from api.mentorship import STAFF, relationship_dict, visible_relationship
from shared.models import Relationship

blp = Blueprint("relationships", __name__, url_prefix="/api/v1/relationships", description="Mentorship relationships")

STATUSES = ("pending", "active", "declined", "cancelled", "ended")
Id = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=2**31 - 1))


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError("must not be blank")


class CreateIn(ma.Schema):
    mentor_id = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=2**31 - 1))
    student_id = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=2**31 - 1))
    message = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=2000))


class ReasonIn(ma.Schema):
    reason = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=2000))


class EndIn(ma.Schema):
    reason = ma.fields.String(required=True, validate=[ma.validate.Length(min=1, max=2000), _not_blank])


class ListQuery(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    mentor_id = ma.fields.Integer(validate=ma.validate.Range(min=1))
    student_id = ma.fields.Integer(validate=ma.validate.Range(min=1))
    before = ma.fields.Integer(validate=ma.validate.Range(min=1))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100))


class PrincipalOut(ma.Schema):
    role = ma.fields.String()
    id = ma.fields.Integer()


class RelationshipOut(ma.Schema):
    id = ma.fields.Integer()
    mentor_id = ma.fields.Integer()
    student_id = ma.fields.Integer()
    status = ma.fields.String()
    requested_by = ma.fields.String()
    request_message = ma.fields.String(allow_none=True)
    match_score = ma.fields.Integer(allow_none=True)
    response_reason = ma.fields.String(allow_none=True)
    end_reason = ma.fields.String(allow_none=True)
    ended_by = ma.fields.Nested(PrincipalOut, allow_none=True)
    created_at = ma.fields.String()
    updated_at = ma.fields.String()
    responded_at = ma.fields.String(allow_none=True)
    ended_at = ma.fields.String(allow_none=True)


class RelationshipPage(ma.Schema):
    relationships = ma.fields.List(ma.fields.Nested(RelationshipOut))
    next_before = ma.fields.Integer(allow_none=True)


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
