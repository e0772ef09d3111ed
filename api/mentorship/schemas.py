"""The shapes of the mentorship endpoints, in and out (shape only; rules live in the logic modules)."""
from __future__ import annotations

import datetime as dt
import itertools
import re

import marshmallow as ma
from marshmallow import validate

from api.schemas import (
    MAX_ID,
    DictOrEmpty,
    Flag,
    Id,
    Limit,
    MemberSchema,
    Number,
    OutSchema,
    PrincipalId,
    PrincipalRef,
    Timestamp,
    known_timezone,
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

MAX_SLOTS = 50  # a week of availability: more than anyone keeps, few enough to check at once
# validate.Regexp only matches at the start: \Z anchors the end ("09:00x" is no time).
START = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]\Z")
END = re.compile(r"(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)\Z")  # a slot may run to midnight
def _display_text(maximum: int):
    return ma.fields.String(
        load_default=None, allow_none=True, validate=[validate.Length(min=1, max=maximum), not_blank]
    )


class SlotIn(ma.Schema):
    """A weekly slot in the owner's time zone; weekday 0 is Monday (Python's and ISO's order)."""

    weekday = Number(0, 6, required=True)
    start = ma.fields.String(required=True, validate=validate.Regexp(START, error="HH:MM from 00:00 to 23:59"))
    end = ma.fields.String(required=True, validate=validate.Regexp(END, error="HH:MM from 00:01 to 24:00"))

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        if data["start"] >= data["end"]:  # zero-padded HH:MM compares as text
            raise ma.ValidationError("must be after start", "end")


def _no_overlap(slots: list[dict]) -> None:
    ordered = sorted(slots, key=lambda s: (s["weekday"], s["start"]))
    for first, second in itertools.pairwise(ordered):
        if first["weekday"] == second["weekday"] and second["start"] < first["end"]:
            raise ma.ValidationError(
                f"slots overlap on weekday {first['weekday']}: {first['start']}-{first['end']}"
                f" and {second['start']}-{second['end']}"
            )


class _DirectoryFields(ma.Schema):
    sectors = _tag_list()
    skills = _tag_list()
    languages = _tag_list()
    display_name = _display_text(100)
    bio = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    timezone = ma.fields.String(load_default=None, allow_none=True, validate=known_timezone)


class ProfileIn(_DirectoryFields):
    # null (or absent) = the configured default (DEFAULT_MAX_MENTEES).
    max_mentees = Number(0, 100, load_default=None, allow_none=True)
    accepting = Flag(load_default=True)
    headline = _display_text(200)
    availability = ma.fields.List(
        ma.fields.Nested(SlotIn), load_default=list, validate=[validate.Length(max=MAX_SLOTS), _no_overlap]
    )

    @ma.validates_schema
    def _zoned(self, data, **kwargs):
        if data.get("availability") and not data.get("timezone"):
            raise ma.ValidationError("availability is in the mentor's time zone: give timezone too", "timezone")


class NeedsIn(_DirectoryFields):
    goals = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    open_to_offers = Flag(load_default=False)


class SlotOut(OutSchema):
    weekday = ma.fields.Integer()
    start = ma.fields.String()
    end = ma.fields.String()


class _CardFields(OutSchema):
    sectors = ma.fields.List(ma.fields.String())
    skills = ma.fields.List(ma.fields.String())
    languages = ma.fields.List(ma.fields.String())
    display_name = ma.fields.String(allow_none=True)
    bio = ma.fields.String(allow_none=True)
    timezone = ma.fields.String(allow_none=True)
    updated_at = Timestamp()


class ProfileOut(_CardFields):
    """A mentor profile, with `capacity` and `active_mentees` computed by the view."""

    mentor_id = ma.fields.Integer()
    headline = ma.fields.String(allow_none=True)
    availability = ma.fields.List(ma.fields.Nested(SlotOut))
    max_mentees = ma.fields.Integer(allow_none=True)
    capacity = ma.fields.Integer()
    active_mentees = ma.fields.Integer()
    accepting = ma.fields.Boolean()


class NeedsOut(_CardFields):
    student_id = ma.fields.Integer()
    goals = ma.fields.String(allow_none=True)
    open_to_offers = ma.fields.Boolean()


# The directory

class _DirectoryQuery(ma.Schema):
    # Blank filters are no filters: a search form sends its empty boxes.
    sector = ma.fields.String(validate=validate.Length(max=100))
    skill = ma.fields.String(validate=validate.Length(max=100))
    q = ma.fields.String(validate=validate.Length(max=100))
    before = PrincipalId(strict=False)
    limit = Limit(20, 100)


class MentorQuery(_DirectoryQuery):
    language = ma.fields.String(validate=validate.Length(max=100))
    accepting = Flag(strict=False)


class StudentQuery(_DirectoryQuery):
    pass


class CapacityOut(OutSchema):
    max = ma.fields.Integer()
    active = ma.fields.Integer()


class MentorCard(_CardFields):
    """A mentor in the directory; `score` and `breakdown` only for a student."""

    mentor_id = ma.fields.Integer()
    headline = ma.fields.String(allow_none=True)
    availability = ma.fields.List(ma.fields.Nested(SlotOut))
    capacity = ma.fields.Nested(CapacityOut)
    accepting = ma.fields.Boolean(metadata={"description": "takes new requests now: accepting, with room left"})
    score = ma.fields.Integer()
    breakdown = ma.fields.Dict()


class StudentCard(_CardFields):
    """A student open to offers; `score` and `breakdown` only for a mentor."""

    student_id = ma.fields.Integer()
    score = ma.fields.Integer()
    breakdown = ma.fields.Dict()


class MentorPage(OutSchema):
    mentors = ma.fields.List(ma.fields.Nested(MentorCard))
    next_before = ma.fields.Integer(allow_none=True)


class StudentPage(OutSchema):
    students = ma.fields.List(ma.fields.Nested(StudentCard))
    next_before = ma.fields.Integer(allow_none=True)


# The audit trail

class AuditQuery(ma.Schema):
    entity = ma.fields.String(validate=validate.Regexp(r"[a-z_]{1,32}\Z", error="an entity name, e.g. goal"))
    id = Id(strict=False)
    before = Id(strict=False)
    limit = Limit(50, 100)

    @ma.validates_schema
    def _id_of_an_entity(self, data, **kwargs):
        if "id" in data and "entity" not in data:
            raise ma.ValidationError("an id names a row of one entity: give entity too", "id")


class AuditEntryOut(OutSchema):
    id = ma.fields.Integer()
    entity = ma.fields.String()
    entity_id = ma.fields.Integer()
    action = ma.fields.String()
    actor = PrincipalRef("actor_role", "actor_id")
    request_id = ma.fields.String(allow_none=True)
    before = ma.fields.Dict(allow_none=True, metadata={"description": "changed fields before; null for a creation"})
    after = ma.fields.Dict(allow_none=True, metadata={"description": "changed fields after; null for a deletion"})
    created_at = Timestamp()


class AuditPage(OutSchema):
    entries = ma.fields.List(ma.fields.Nested(AuditEntryOut))
    next_before = ma.fields.Integer(allow_none=True)


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


# Sessions

SESSION_STATUSES = ("scheduled", "cancelled", "completed")
ATTENDANCE = ("present", "absent", "late", "excused")
MAX_ATTENDEES = 100
# In a query string an unencoded `+` arrives as a space: `...T10:00:00 02:00` meant `+02:00`.
_SPACED_OFFSET = re.compile(r" (?=[0-9]{2}(:?[0-9]{2})?$)")


class UtcTime(ma.fields.AwareDateTime):
    """ISO 8601 with an offset (`Z`, `+02:00`), loaded as naive UTC in whole
    seconds; a time without an offset is refused (whose 10:00 would it be?)."""

    default_error_messages = {
        "naive": "give the time with an offset, e.g. 2026-03-02T10:00:00Z or +01:00",
        "range": "must be between the years 2000 and 2100",
    }

    def __init__(self, *, query: bool = False, **kwargs) -> None:
        super().__init__(format="iso", **kwargs)
        self.query = query

    def _deserialize(self, value, attr, data, **kwargs):
        if self.query and isinstance(value, str):
            value = _SPACED_OFFSET.sub("+", value)
        aware = super()._deserialize(value, attr, data, **kwargs)
        try:
            utc = aware.astimezone(dt.timezone.utc)
        except OverflowError:  # year 9999 with a negative offset
            raise self.make_error("range") from None
        if not 2000 <= utc.year <= 2100:
            raise self.make_error("range")
        return utc.replace(tzinfo=None, microsecond=0)


def _text(maximum: int, **kwargs):
    return ma.fields.String(allow_none=True, validate=validate.Length(max=maximum), **kwargs)


class SessionPatch(ma.Schema):
    title = ma.fields.String(validate=[validate.Length(min=1, max=200), not_blank])
    description = _text(5000)
    location = _text(500)
    starts_at = UtcTime()
    ends_at = UtcTime()

    @ma.validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("give at least one field to change", "_schema")


class SessionIn(SessionPatch):
    title = ma.fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    starts_at = UtcTime(required=True)
    ends_at = UtcTime(required=True)
    relationship_id = PrincipalId()
    attendees = ma.fields.List(ma.fields.Nested(MemberSchema), validate=validate.Length(min=1, max=MAX_ATTENDEES))
    conversation_id = Id()

    @ma.validates_schema
    def _one_audience(self, data, **kwargs):
        given = [name for name in ("relationship_id", "attendees", "conversation_id") if name in data]
        if len(given) != 1:
            raise ma.ValidationError("give exactly one of relationship_id, attendees, conversation_id", "_schema")


class SessionCancelIn(ma.Schema):
    reason = ma.fields.String(required=True, validate=[validate.Length(min=1, max=2000), not_blank])


class AttendanceIn(ma.Schema):
    principal = ma.fields.Nested(MemberSchema, required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(ATTENDANCE))


class SessionQuery(ma.Schema):
    from_ = UtcTime(query=True, data_key="from")
    to = UtcTime(query=True)
    status = ma.fields.String(validate=validate.OneOf(SESSION_STATUSES))
    before = PrincipalId(strict=False)
    after = PrincipalId(strict=False)
    limit = Limit(100, 200)

    @ma.validates_schema
    def _one_cursor(self, data, **kwargs):
        if "before" in data and "after" in data:
            raise ma.ValidationError("give before or after, not both", "_schema")


class AttendeeOut(OutSchema):
    principal = PrincipalRef("role", "principal_id")
    attendance = ma.fields.String(allow_none=True)
    attendance_at = Timestamp(allow_none=True)


class SessionOut(OutSchema):
    id = ma.fields.Integer()
    host = PrincipalRef("host_role", "host_id")
    relationship_id = ma.fields.Integer(allow_none=True)
    conversation_id = ma.fields.Integer(allow_none=True)
    title = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    location = ma.fields.String(allow_none=True)
    starts_at = Timestamp()
    ends_at = Timestamp()
    status = ma.fields.String()
    cancel_reason = ma.fields.String(allow_none=True)
    cancelled_at = Timestamp(allow_none=True)
    completed_at = Timestamp(allow_none=True)
    sequence = ma.fields.Integer()
    attendees = ma.fields.List(ma.fields.Nested(AttendeeOut))
    created_at = Timestamp()
    updated_at = Timestamp()


class SessionPage(OutSchema):
    sessions = ma.fields.List(ma.fields.Nested(SessionOut))
    # Pass back as `after` (next page forward) or `before` (the page before); null at the end.
    next_after = ma.fields.Integer(allow_none=True)
    next_before = ma.fields.Integer(allow_none=True)


class CalendarTokenOut(OutSchema):
    token = ma.fields.String()
    url = ma.fields.String()
    created_at = Timestamp()

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


class DashboardMentor(OutSchema):
    """A student's mentor on their dashboard (the directory's card is `MentorCard`)."""

    id = ma.fields.Integer()
    display_name = ma.fields.String(allow_none=True)
    relationship_id = ma.fields.Integer()
    since = ma.fields.String(allow_none=True, metadata={"format": "date-time"})


class DayCount(OutSchema):
    date = ma.fields.String(metadata={"format": "date"})
    count = ma.fields.Integer()


class SessionCard(OutSchema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    starts_at = ma.fields.String(metadata={"format": "date-time"})
    ends_at = ma.fields.String(metadata={"format": "date-time"})


class UpcomingSessions(OutSchema):
    count = ma.fields.Integer(metadata={"description": "scheduled sessions not ended yet, hosted or attended"})
    next = ma.fields.List(ma.fields.Nested(SessionCard), metadata={"description": "the soonest three"})


class DashboardOut(OutSchema):
    """The caller's figures; which ones depends on the role (see README, Dashboards)."""

    role = ma.fields.String()
    computed_at = Timestamp()
    # mentor
    active_mentees = ma.fields.Integer()
    capacity = ma.fields.Integer()
    accepting = ma.fields.Boolean()
    median_first_response_seconds = ma.fields.Float(allow_none=True)
    sessions_held = ma.fields.Integer(metadata={"description": "hosted and completed, last 30 days"})
    attendance_rate = ma.fields.Float(allow_none=True)
    # mentor and student
    pending_requests = ma.fields.Integer()
    pending_offers = ma.fields.Integer()
    goals = ma.fields.Nested(GoalFigures)
    unread_messages = ma.fields.Integer()
    upcoming_sessions = ma.fields.Nested(UpcomingSessions)
    # student
    mentor = ma.fields.Nested(DashboardMentor, allow_none=True)
    # admin and service
    relationships_by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    acceptance_rate_30d = ma.fields.Float(allow_none=True)
    lasting_over_3_months = ma.fields.Integer()
    messages_per_day = ma.fields.List(ma.fields.Nested(DayCount))
    active_users_7d = ma.fields.Integer()
    active_users_30d = ma.fields.Integer()
    median_response_seconds_30d = ma.fields.Float(allow_none=True)
    sessions_held_30d = ma.fields.Integer()
    attendance_rate_30d = ma.fields.Float(allow_none=True)


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
    sessions_held = ma.fields.Integer(metadata={"description": "completed sessions that started in the period"})
    sessions_cancelled = ma.fields.Integer(metadata={"description": "cancelled sessions that were to start in it"})
    attendance_rate = ma.fields.Float(allow_none=True)


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
# (notes: the `activity:created` events of kind `note`). Reminders stay out: a nudge, not something that happened.

FEED_TYPES = {
    **{f"relationship_{verb}": f"relationship:{verb}" for verb in ("requested", "accepted", "declined",
                                                                   "cancelled", "ended")},
    **{f"goal_{verb}": f"goal:{verb}" for verb in ("created", "updated", "deleted")},
    "note": "activity:created",
    "conversation_created": "conversation:created",
    "conversation_joined": "participant:added",
    "conversation_left": "participant:removed",
    **{f"session_{verb}": f"session:{verb}" for verb in ("created", "updated", "cancelled", "completed",
                                                         "attendance")},
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
session_out = SessionOut()
