"""The shapes of the mentorship endpoints, in and out (shape only; rules live in the logic modules)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.schemas import (
    MAX_ID,
    DictOrEmpty,
    Flag,
    Id,
    Limit,
    Number,
    OutSchema,
    PrincipalId,
    PrincipalRef,
    Timestamp,
    not_blank,
)

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
    max_mentees = Number(0, 100, load_default=None, allow_none=True)
    accepting = Flag(load_default=True)


class NeedsIn(ma.Schema):
    sectors = _tag_list()
    skills = _tag_list()
    languages = _tag_list()
    goals = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class ProfileOut(OutSchema):
    """A mentor profile, with `capacity` and `active_mentees` computed by the view."""

    mentor_id = ma.fields.Integer()
    sectors = ma.fields.List(ma.fields.String())
    skills = ma.fields.List(ma.fields.String())
    languages = ma.fields.List(ma.fields.String())
    max_mentees = ma.fields.Integer(allow_none=True)
    capacity = ma.fields.Integer()
    active_mentees = ma.fields.Integer()
    accepting = ma.fields.Boolean()
    updated_at = Timestamp()


class NeedsOut(OutSchema):
    student_id = ma.fields.Integer()
    sectors = ma.fields.List(ma.fields.String())
    skills = ma.fields.List(ma.fields.String())
    languages = ma.fields.List(ma.fields.String())
    goals = ma.fields.String(allow_none=True)
    updated_at = Timestamp()


# Matching

class MatchQuery(ma.Schema):
    limit = Limit(20, 100)


class MatchSchema(OutSchema):
    role = ma.fields.String()
    id = ma.fields.Integer()
    score = ma.fields.Integer()
    breakdown = ma.fields.Dict()


class MatchList(OutSchema):
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
    # Bounded by the INT columns: a larger number is a 422, not a database error (SQLite overflows).
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    mentor_id = PrincipalId(strict=False)
    student_id = PrincipalId(strict=False)
    before = PrincipalId(strict=False)
    limit = Limit(50, 100)


class RelationshipOut(OutSchema):
    id = ma.fields.Integer()
    mentor_id = ma.fields.Integer()
    student_id = ma.fields.Integer()
    status = ma.fields.String()
    requested_by = ma.fields.String()
    request_message = ma.fields.String(allow_none=True)
    match_score = ma.fields.Integer(allow_none=True)
    response_reason = ma.fields.String(allow_none=True)
    end_reason = ma.fields.String(allow_none=True)
    ended_by = PrincipalRef("ended_by_role", "ended_by_id", allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()
    responded_at = Timestamp(allow_none=True)
    ended_at = Timestamp(allow_none=True)


class RelationshipPage(OutSchema):
    relationships = ma.fields.List(ma.fields.Nested(RelationshipOut))
    next_before = ma.fields.Integer(allow_none=True)


# Goals

class GoalPatch(ma.Schema):
    title = ma.fields.String(validate=[validate.Length(min=1, max=200), not_blank])
    description = ma.fields.String(allow_none=True, validate=validate.Length(max=5000))
    status = ma.fields.String(validate=validate.OneOf(GOAL_STATUSES))
    priority = ma.fields.String(validate=validate.OneOf(PRIORITIES))
    progress = Number(0, 100)
    target_date = ma.fields.Date(allow_none=True)

    @ma.validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("give at least one field to change", "_schema")


class GoalIn(GoalPatch):
    title = ma.fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])


class GoalOut(OutSchema):
    id = ma.fields.Integer()
    relationship_id = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    priority = ma.fields.String()
    progress = ma.fields.Integer()
    target_date = ma.fields.Date(allow_none=True)
    completed_at = Timestamp(allow_none=True)
    created_by = PrincipalRef("created_by_role", "created_by_id")
    created_at = Timestamp()
    updated_at = Timestamp()


class GoalList(OutSchema):
    goals = ma.fields.List(ma.fields.Nested(GoalOut))


# Activities

class NoteIn(ma.Schema):
    text = ma.fields.String(required=True, validate=[validate.Length(min=1, max=5000), not_blank])


class PageQuery(ma.Schema):
    before = Id(strict=False)
    after = Number(0, MAX_ID, strict=False)
    limit = Limit(50, 100)

    @ma.validates_schema
    def _one_cursor(self, data, **kwargs):
        if "before" in data and "after" in data:
            raise ma.ValidationError("give before or after, not both", "_schema")


class ActivityOut(OutSchema):
    id = ma.fields.Integer()
    relationship_id = ma.fields.Integer()
    actor = PrincipalRef("actor_role", "actor_id")
    kind = ma.fields.String()
    text = ma.fields.String(allow_none=True)
    details = DictOrEmpty()
    created_at = Timestamp()


class ActivityPage(OutSchema):
    activities = ma.fields.List(ma.fields.Nested(ActivityOut))
    has_more = ma.fields.Boolean()


# Dashboards (api/mentorship/dashboard_figures.py defines each figure)

DASHBOARD_PERIODS = ("day", "week", "month", "year")
MAX_COMPARE = 12  # previous periods next to the current one


class StatsQuery(ma.Schema):
    period = ma.fields.String(load_default="week", validate=validate.OneOf(DASHBOARD_PERIODS))
    compare = Number(0, MAX_COMPARE, strict=False, load_default=1)


class GoalFigures(OutSchema):
    by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    total = ma.fields.Integer()
    completion_rate = ma.fields.Float(allow_none=True)
    average_progress = ma.fields.Float(allow_none=True)


class MentorCard(OutSchema):
    id = ma.fields.Integer()
    display_name = ma.fields.String(allow_none=True)
    relationship_id = ma.fields.Integer()
    since = ma.fields.String(allow_none=True, metadata={"format": "date-time"})


class DayCount(OutSchema):
    date = ma.fields.String(metadata={"format": "date"})
    count = ma.fields.Integer()


class DashboardOut(OutSchema):
    """The caller's figures; which ones depends on the role (see README, Dashboards)."""

    role = ma.fields.String()
    computed_at = Timestamp()
    # mentor
    active_mentees = ma.fields.Integer()
    capacity = ma.fields.Integer()
    accepting = ma.fields.Boolean()
    median_first_response_seconds = ma.fields.Float(allow_none=True)
    # mentor and student
    pending_requests = ma.fields.Integer()
    pending_offers = ma.fields.Integer()
    goals = ma.fields.Nested(GoalFigures)
    unread_messages = ma.fields.Integer()
    # student
    mentor = ma.fields.Nested(MentorCard, allow_none=True)
    # admin and service
    relationships_by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    acceptance_rate_30d = ma.fields.Float(allow_none=True)
    lasting_over_3_months = ma.fields.Integer()
    messages_per_day = ma.fields.List(ma.fields.Nested(DayCount))
    active_users_7d = ma.fields.Integer()
    active_users_30d = ma.fields.Integer()
    median_response_seconds_30d = ma.fields.Float(allow_none=True)


class PeriodFigures(OutSchema):
    requests = ma.fields.Integer()
    requests_by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(),
                                        metadata={"description": "the period's requests by their status now"})
    accepted = ma.fields.Integer()
    declined = ma.fields.Integer()
    acceptance_rate = ma.fields.Float(allow_none=True)
    ended = ma.fields.Integer()
    lasting_over_3_months = ma.fields.Integer()
    goals_created = ma.fields.Integer()
    goals_completed = ma.fields.Integer()
    messages = ma.fields.Integer()
    messages_per_day = ma.fields.Float()
    active_users = ma.fields.Integer()
    median_response_seconds = ma.fields.Float(allow_none=True)


class PeriodOut(OutSchema):
    start = Timestamp()
    end = Timestamp()
    figures = ma.fields.Nested(PeriodFigures)


class StatsOut(OutSchema):
    period = ma.fields.String()
    compare = ma.fields.Integer()
    computed_at = Timestamp()
    periods = ma.fields.List(ma.fields.Nested(PeriodOut), metadata={"description": "the current period first"})


# The activity feed: its item types, and the event each comes from
# (notes: the `activity:created` events of kind `note`). Sessions add their types here.

FEED_TYPES = {
    **{f"relationship_{verb}": f"relationship:{verb}" for verb in ("requested", "accepted", "declined",
                                                                   "cancelled", "ended")},
    **{f"goal_{verb}": f"goal:{verb}" for verb in ("created", "updated", "deleted")},
    "note": "activity:created",
    "conversation_created": "conversation:created",
    "conversation_joined": "participant:added",
    "conversation_left": "participant:removed",
}


class FeedTypes(ma.fields.String):
    """A comma-separated list of feed types (`goal_created,note`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        names = [name.strip() for name in super()._deserialize(value, attr, data, **kwargs).split(",")]
        unknown = sorted({name for name in names if name not in FEED_TYPES})
        if unknown or not names:
            raise ma.ValidationError(f"unknown types {', '.join(unknown) or '(none)'}; "
                                     f"known: {', '.join(FEED_TYPES)}")
        return list(dict.fromkeys(names))


class FeedQuery(ma.Schema):
    types = FeedTypes(metadata={"description": f"comma-separated, any of: {', '.join(FEED_TYPES)}"})
    before = Id(strict=False)
    limit = Limit(50, 100)


class FeedItem(OutSchema):
    id = ma.fields.Integer(metadata={"description": "the event id; pages go by it"})
    type = ma.fields.String()
    created_at = Timestamp()
    data = ma.fields.Dict(metadata={"description": "the resource as its event carried it"})


class FeedPage(OutSchema):
    activity = ma.fields.List(ma.fields.Nested(FeedItem))
    next_before = ma.fields.Integer(allow_none=True)


# One instance each, for the event payloads the logic writes.
relationship_out = RelationshipOut()
goal_out = GoalOut()
activity_out = ActivityOut()
