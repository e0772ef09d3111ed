"""The figures of each dashboard, from aggregate queries whose number does not grow with the data.

A dashboard is the union of its role's figure functions (`MENTOR`, `STUDENT`,
`ADMIN` at the bottom), each `fn(principal, now) -> {figure: value}` and one or
two queries; the admin's statistics per period are `PERIOD` functions
`fn(windows) -> [{figure: value} per window]`, each one query for all the
windows (conditional aggregation). Sessions' figures join these lists as one
function each.

Definitions:
- goal completion rate: completed / goals not abandoned (None without goals);
- acceptance rate: of the requests and offers answered in the window,
  the share accepted (accepted / (accepted + declined); cancellations are the
  asker's, not an answer);
- relationships lasting over 3 months: accepted at least 90 days before the
  window's end and not ended before it;
- first response time: in mentorship conversations, for each run of student
  messages (one that starts the thread or follows the mentor's), the time until
  the mentor's next message; the median over the runs that began in the window
  and were answered (unanswered ones are left out);
- active users: distinct mentors and students who sent a message or did
  something logged in a relationship (activities) or the audit log, in the window.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import and_, case, func, or_, select, union_all

from api.auth import app_config
from api.extensions import db
from api.mentorship.schemas import GOAL_STATUSES, STATUSES
from api.messaging.inbox import unread_counts
from api.portable_sql import seconds_between
from shared.auth import Principal
from shared.models import Activity, AuditEntry, Conversation, Goal, MentorProfile, Message, Relationship
from shared.timeutil import isoformat_z

Window = tuple[dt.datetime, dt.datetime]  # [start, end)
DAY = dt.timedelta(days=1)
LOOKBACK = dt.timedelta(days=30)  # the rates and medians of a dashboard (not of /dashboard/stats)
LONG_RELATIONSHIP = dt.timedelta(days=90)
ACCEPTED = ("active", "ended")


def _ratio(part: int, whole: int, digits: int = 3) -> float | None:
    return round(part / whole, digits) if whole else None


def _within(column, window: Window):
    return and_(column >= window[0], column < window[1])


def _count_if(condition):
    return func.sum(case((condition, 1), else_=0))


def _ints(row) -> list[int]:
    return [int(value or 0) for value in row]  # SUM is NULL over no rows, a Decimal on MySQL


# Relationships

def _relationship_counts(column, principal_id: int) -> dict[tuple[str, str], int]:
    rows = db.session.execute(
        select(Relationship.status, Relationship.requested_by, func.count())
        .where(column == principal_id).group_by(Relationship.status, Relationship.requested_by)
    )
    return {(status, by): n for status, by, n in rows}


def mentor_relationships(me: Principal, now: dt.datetime) -> dict:
    counts = _relationship_counts(Relationship.mentor_id, me.id)
    return {
        "active_mentees": sum(n for (status, _), n in counts.items() if status == "active"),
        "pending_requests": counts.get(("pending", "student"), 0),  # waiting for my answer
        "pending_offers": counts.get(("pending", "mentor"), 0),  # my offers, waiting for the student's
    }


def mentor_capacity(me: Principal, now: dt.datetime) -> dict:
    profile = db.session.get(MentorProfile, me.id)
    if profile is None or profile.max_mentees is None:
        capacity = app_config().default_max_mentees
    else:
        capacity = profile.max_mentees
    return {"capacity": capacity, "accepting": bool(profile and profile.accepting)}


def student_relationships(me: Principal, now: dt.datetime) -> dict:
    counts = _relationship_counts(Relationship.student_id, me.id)
    return {
        "pending_requests": counts.get(("pending", "student"), 0),  # mine, waiting for a mentor
        "pending_offers": counts.get(("pending", "mentor"), 0),  # to me, waiting for my answer
    }


def student_mentor(me: Principal, now: dt.datetime) -> dict:
    row = db.session.execute(
        select(Relationship.id, Relationship.mentor_id, Relationship.responded_at, MentorProfile.display_name)
        .outerjoin(MentorProfile, MentorProfile.mentor_id == Relationship.mentor_id)
        .where(Relationship.student_id == me.id, Relationship.status == "active")
    ).first()
    if row is None:
        return {"mentor": None}
    return {"mentor": {"id": row.mentor_id, "display_name": row.display_name, "relationship_id": row.id,
                       "since": isoformat_z(row.responded_at)}}


def relationships_by_status(me: Principal, now: dt.datetime) -> dict:
    counts = dict(db.session.execute(select(Relationship.status, func.count()).group_by(Relationship.status)).all())
    return {"relationships_by_status": {status: counts.get(status, 0) for status in STATUSES}}


# Goals

def _goals(*where) -> dict:
    """Goals by status, completion rate and average progress (of the goals not abandoned)."""
    query = select(Goal.status, func.count(), func.sum(Goal.progress)).group_by(Goal.status)
    if where:
        query = query.join(Relationship, Relationship.id == Goal.relationship_id).where(*where)
    by_status, progress = dict.fromkeys(GOAL_STATUSES, 0), {}
    for status, n, total_progress in db.session.execute(query):
        by_status[status], progress[status] = n, int(total_progress or 0)
    pursued = sum(n for status, n in by_status.items() if status != "abandoned")
    progress_sum = sum(p for status, p in progress.items() if status != "abandoned")
    return {"by_status": by_status, "total": sum(by_status.values()),
            "completion_rate": _ratio(by_status["completed"], pursued),
            "average_progress": round(progress_sum / pursued, 1) if pursued else None}


def mentor_goals(me: Principal, now: dt.datetime) -> dict:
    """Goals of the mentor's active relationships."""
    return {"goals": _goals(Relationship.mentor_id == me.id, Relationship.status == "active")}


def student_goals(me: Principal, now: dt.datetime) -> dict:
    """Goals of the student's active relationship."""
    return {"goals": _goals(Relationship.student_id == me.id, Relationship.status == "active")}


def all_goals(me: Principal, now: dt.datetime) -> dict:
    return {"goals": _goals()}


# Messages

def unread_messages(me: Principal, now: dt.datetime) -> dict:
    return {"unread_messages": sum(unread_counts(me).values())}


def response_medians(windows: list[Window], mentor_id: int | None = None) -> list[float | None]:
    """The median first-response time (seconds) of each window (consecutive, newest
    first), in one query: window functions mark where each sender's run starts,
    the start after a student run is the mentor's answer; the median is the
    middle one or two of each window's sorted times."""
    since = min(start for start, _ in windows)
    messages = (
        select(Message.id, Message.conversation_id, Message.sender_role, Message.created_at,
               func.lag(Message.sender_role).over(partition_by=Message.conversation_id, order_by=Message.id)
               .label("previous_role"))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.type == "mentorship", Message.sender_role.in_(("mentor", "student")),
               Message.created_at >= since)
    )
    if mentor_id is not None:
        messages = messages.join(Relationship, Relationship.id == Conversation.relationship_id).where(
            Relationship.mentor_id == mentor_id)
    m = messages.subquery()
    runs = (
        select(m.c.sender_role, m.c.created_at,
               func.lead(m.c.created_at).over(partition_by=m.c.conversation_id, order_by=m.c.id).label("answered_at"))
        .where(or_(m.c.previous_role.is_(None), m.c.previous_role != m.c.sender_role))
        .subquery()
    )
    bucket = case(*[(runs.c.created_at >= start, n) for n, (start, _) in enumerate(windows)], else_=None)
    turns = (
        select(bucket.label("bucket"), seconds_between(runs.c.created_at, runs.c.answered_at).label("seconds"))
        .where(runs.c.sender_role == "student", runs.c.answered_at.is_not(None))
        .subquery()
    )
    ranked = select(
        turns.c.bucket, turns.c.seconds,
        func.row_number().over(partition_by=turns.c.bucket, order_by=turns.c.seconds).label("n"),
        func.count().over(partition_by=turns.c.bucket).label("total"),
    ).subquery()
    # The middle row of an odd count, the middle two of an even one.
    middle = and_(ranked.c.n * 2 >= ranked.c.total, ranked.c.n * 2 <= ranked.c.total + 2)
    found = dict(db.session.execute(
        select(ranked.c.bucket, func.avg(ranked.c.seconds)).where(middle).group_by(ranked.c.bucket)
    ).all())
    return [None if found.get(n) is None else round(float(found[n]), 1) for n in range(len(windows))]


def mentor_first_response(me: Principal, now: dt.datetime) -> dict:
    (median,) = response_medians([(now - LOOKBACK, now)], mentor_id=me.id)
    return {"median_first_response_seconds": median}


# Admin figures over windows (any windows, overlapping or not, unless said)

def relationship_windows(windows: list[Window]) -> list[dict]:
    """Requests, answers, acceptance rate, endings and long relationships per window."""
    accepted = Relationship.status.in_(ACCEPTED)
    columns = []
    for window in windows:
        answered = _within(Relationship.responded_at, window)
        lasting = and_(accepted, Relationship.responded_at <= window[1] - LONG_RELATIONSHIP,
                       or_(Relationship.ended_at.is_(None), Relationship.ended_at >= window[1]))
        columns += [_count_if(_within(Relationship.created_at, window)), _count_if(and_(answered, accepted)),
                    _count_if(and_(answered, Relationship.status == "declined")),
                    _count_if(_within(Relationship.ended_at, window)), _count_if(lasting)]
    values = _ints(db.session.execute(select(*columns)).one())
    out = []
    for n in range(len(windows)):
        requested, accepts, declines, ended, lasting = values[5 * n:5 * n + 5]
        out.append({"requests": requested, "accepted": accepts, "declined": declines,
                    "acceptance_rate": _ratio(accepts, accepts + declines), "ended": ended,
                    "lasting_over_3_months": lasting})
    return out


def goal_windows(windows: list[Window]) -> list[dict]:
    columns = []
    for window in windows:
        columns += [_count_if(_within(Goal.created_at, window)), _count_if(_within(Goal.completed_at, window))]
    values = _ints(db.session.execute(select(*columns)).one())
    return [{"goals_created": values[2 * n], "goals_completed": values[2 * n + 1]} for n in range(len(windows))]


def message_counts(windows: list[Window]) -> list[int]:
    since = min(start for start, _ in windows)
    columns = [_count_if(_within(Message.created_at, window)) for window in windows]
    return _ints(db.session.execute(select(*columns).where(Message.created_at >= since)).one())


def message_windows(windows: list[Window]) -> list[dict]:
    return [{"messages": n, "messages_per_day": round(n / ((end - start) / DAY), 2)}
            for n, (start, end) in zip(message_counts(windows), windows, strict=True)]


def active_user_counts(windows: list[Window]) -> list[int]:
    """Distinct mentors and students who did something in each window."""
    since = min(start for start, _ in windows)
    doings = union_all(*[
        select(role.label("role"), who.label("principal_id"), at.label("at")).where(at >= since)
        for role, who, at in (
            (Message.sender_role, Message.sender_id, Message.created_at),
            (Activity.actor_role, Activity.actor_id, Activity.created_at),
            (AuditEntry.actor_role, AuditEntry.actor_id, AuditEntry.created_at),
        )
    ]).subquery()
    # One number per person: mentor 12 and student 12 are different people.
    person = doings.c.principal_id * 2 + case((doings.c.role == "student", 1), else_=0)
    columns = [func.count(func.distinct(case((_within(doings.c.at, window), person), else_=None)))
               for window in windows]
    query = select(*columns).where(doings.c.role.in_(("mentor", "student")))
    return _ints(db.session.execute(query).one())


def active_user_windows(windows: list[Window]) -> list[dict]:
    return [{"active_users": n} for n in active_user_counts(windows)]


def response_windows(windows: list[Window]) -> list[dict]:
    """Consecutive windows only (each first response counts in one)."""
    return [{"median_response_seconds": median} for median in response_medians(windows)]


# The admin's dashboard: the figures now, the rates over the last 30 days

def admin_relationships(me: Principal, now: dt.datetime) -> dict:
    (recent,) = relationship_windows([(now - LOOKBACK, now)])
    return {"acceptance_rate_30d": recent["acceptance_rate"], "lasting_over_3_months": recent["lasting_over_3_months"]}


def admin_messages(me: Principal, now: dt.datetime) -> dict:
    """The last 7 UTC days, today (so far) first."""
    today = dt.datetime.combine(now.date(), dt.time())
    days = [(today - n * DAY, min(today - (n - 1) * DAY, now)) for n in range(7)]
    return {"messages_per_day": [{"date": start.date().isoformat(), "count": count}
                                 for (start, _), count in zip(days, message_counts(days), strict=True)]}


def admin_active_users(me: Principal, now: dt.datetime) -> dict:
    last_7, last_30 = active_user_counts([(now - 7 * DAY, now), (now - 30 * DAY, now)])
    return {"active_users_7d": last_7, "active_users_30d": last_30}


def admin_response_time(me: Principal, now: dt.datetime) -> dict:
    (median,) = response_medians([(now - LOOKBACK, now)])
    return {"median_response_seconds_30d": median}


Figure = Callable[[Principal, dt.datetime], dict]
MENTOR: list[Figure] = [mentor_relationships, mentor_capacity, mentor_goals, unread_messages, mentor_first_response]
STUDENT: list[Figure] = [student_mentor, student_relationships, student_goals, unread_messages]
ADMIN: list[Figure] = [relationships_by_status, admin_relationships, all_goals, admin_messages,
                       admin_active_users, admin_response_time]
PERIOD: list[Callable[[list[Window]], list[dict]]] = [
    relationship_windows, goal_windows, message_windows, active_user_windows, response_windows,
]
ROLE_FIGURES = {"mentor": MENTOR, "student": STUDENT, "admin": ADMIN, "service": ADMIN}


def dashboard(principal: Principal, now: dt.datetime) -> dict:
    """The principal's figures: one or two queries per figure function, whatever the data size."""
    figures: dict = {}
    for figure in ROLE_FIGURES[principal.role]:
        figures.update(figure(principal, now))
    return figures


PERIODS = {"day": DAY, "week": 7 * DAY, "month": 30 * DAY, "year": 365 * DAY}


def period_stats(period: str, compare: int, now: dt.datetime) -> list[dict]:
    """The figures of the last `period` (rolling, ending now) and of the `compare` periods before it."""
    length = PERIODS[period]
    windows = [(now - (n + 1) * length, now - n * length) for n in range(compare + 1)]
    stats = [{"start": start, "end": end, "figures": {}} for start, end in windows]
    for figure in PERIOD:
        for entry, values in zip(stats, figure(windows), strict=True):
            entry["figures"].update(values)
    return stats
