"""The shapes of the mentorship endpoints, in and out (shape only; rules live in the logic modules)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.schemas import Limit, PrincipalId, PrincipalSchema, not_blank
from shared.auth import Principal
from shared.models import Activity, Goal, Relationship
from shared.timeutil import isoformat_z

STATUSES = ("pending", "active", "declined", "cancelled", "ended")
GOAL_STATUSES = ("not_started", "in_progress", "completed", "abandoned")
PRIORITIES = ("low", "medium", "high")


def _distinct(items: list[str]) -> None:
    keys = [i.strip().casefold() for i in items]
    if "" in keys:
        raise ma.ValidationError("items must not be blank")
    if len(set(keys)) != len(keys):
        raise ma.ValidationError("items must be distinct (case-insensitive)")


def _tag_list():
    """Up to 50 distinct strings of 1-100 characters (compared case-insensitively)."""
    item = ma.fields.String(validate=validate.Length(min=1, max=100))
    return ma.fields.List(item, load_default=list, validate=[validate.Length(max=50), _distinct])


# Profiles and needs

class ProfileIn(ma.Schema):
    sectors = _tag_list()
    skills = _tag_list()
    languages = _tag_list()
    # null (or absent) = the configured default (DEFAULT_MAX_MENTEES).
    max_mentees = ma.fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100))
    accepting = ma.fields.Boolean(load_default=True)


class NeedsIn(ma.Schema):
    sectors = _tag_list()
    skills = _tag_list()
    languages = _tag_list()
    goals = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class ProfileOut(ma.Schema):
    mentor_id = ma.fields.Integer()
    sectors = ma.fields.List(ma.fields.String())
    skills = ma.fields.List(ma.fields.String())
    languages = ma.fields.List(ma.fields.String())
    max_mentees = ma.fields.Integer(allow_none=True)
    capacity = ma.fields.Integer()
    active_mentees = ma.fields.Integer()
    accepting = ma.fields.Boolean()
    updated_at = ma.fields.String()


class NeedsOut(ma.Schema):
    student_id = ma.fields.Integer()
    sectors = ma.fields.List(ma.fields.String())
    skills = ma.fields.List(ma.fields.String())
    languages = ma.fields.List(ma.fields.String())
    goals = ma.fields.String(allow_none=True)
    updated_at = ma.fields.String()


# Matching

class MatchQuery(ma.Schema):
    limit = Limit(20, 100)


class MatchSchema(ma.Schema):
    role = ma.fields.String()
    id = ma.fields.Integer()
    score = ma.fields.Integer()
    breakdown = ma.fields.Dict()


class MatchList(ma.Schema):
    matches = ma.fields.List(ma.fields.Nested(MatchSchema))


# Relationships

class CreateIn(ma.Schema):
    mentor_id = PrincipalId()
    student_id = PrincipalId()
    message = ma.fields.String(allow_none=True, validate=validate.Length(max=2000))


class ReasonIn(ma.Schema):
    reason = ma.fields.String(allow_none=True, validate=validate.Length(max=2000))


class EndIn(ma.Schema):
    reason = ma.fields.String(required=True, validate=[validate.Length(min=1, max=2000), not_blank])


class ListQuery(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    mentor_id = ma.fields.Integer(validate=validate.Range(min=1))
    student_id = ma.fields.Integer(validate=validate.Range(min=1))
    before = ma.fields.Integer(validate=validate.Range(min=1))
    limit = Limit(50, 100)


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
    ended_by = ma.fields.Nested(PrincipalSchema, allow_none=True)
    created_at = ma.fields.String()
    updated_at = ma.fields.String()
    responded_at = ma.fields.String(allow_none=True)
    ended_at = ma.fields.String(allow_none=True)


class RelationshipPage(ma.Schema):
    relationships = ma.fields.List(ma.fields.Nested(RelationshipOut))
    next_before = ma.fields.Integer(allow_none=True)


# Goals

class GoalPatch(ma.Schema):
    title = ma.fields.String(validate=[validate.Length(min=1, max=200), not_blank])
    description = ma.fields.String(allow_none=True, validate=validate.Length(max=5000))
    status = ma.fields.String(validate=validate.OneOf(GOAL_STATUSES))
    priority = ma.fields.String(validate=validate.OneOf(PRIORITIES))
    progress = ma.fields.Integer(strict=True, validate=validate.Range(min=0, max=100))
    target_date = ma.fields.Date(allow_none=True)

    @ma.validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("give at least one field to change", "_schema")


class GoalIn(GoalPatch):
    title = ma.fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])


class GoalOut(ma.Schema):
    id = ma.fields.Integer()
    relationship_id = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    priority = ma.fields.String()
    progress = ma.fields.Integer()
    target_date = ma.fields.String(allow_none=True)
    completed_at = ma.fields.String(allow_none=True)
    created_by = ma.fields.Nested(PrincipalSchema)
    created_at = ma.fields.String()
    updated_at = ma.fields.String()


class GoalList(ma.Schema):
    goals = ma.fields.List(ma.fields.Nested(GoalOut))


# Activities

class NoteIn(ma.Schema):
    text = ma.fields.String(required=True, validate=[validate.Length(min=1, max=5000), not_blank])


class PageQuery(ma.Schema):
    before = ma.fields.Integer(validate=validate.Range(min=1))
    after = ma.fields.Integer(validate=validate.Range(min=0))
    limit = Limit(50, 100)

    @ma.validates_schema
    def _one_cursor(self, data, **kwargs):
        if "before" in data and "after" in data:
            raise ma.ValidationError("give before or after, not both", "_schema")


class ActivityOut(ma.Schema):
    id = ma.fields.Integer()
    relationship_id = ma.fields.Integer()
    actor = ma.fields.Nested(PrincipalSchema)
    kind = ma.fields.String()
    text = ma.fields.String(allow_none=True)
    details = ma.fields.Dict()
    created_at = ma.fields.String()


class ActivityPage(ma.Schema):
    activities = ma.fields.List(ma.fields.Nested(ActivityOut))
    has_more = ma.fields.Boolean()


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
