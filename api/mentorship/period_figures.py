"""The admin's figures over windows of time, each one query for all the windows.

`fn(windows) -> [{figure: value} per window]`, windows `[start, end)` newest
first; a figure counts each window with its own conditional aggregate
(`SUM(CASE WHEN <in window n> ...)`), so the number of queries depends on
neither the data nor how many periods are compared. The medians use window
functions (LAG, LEAD, ROW_NUMBER), on MariaDB and SQLite alike. Definitions:
api/mentorship/dashboard_figures.py.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import and_, case, func, or_, select, union_all

from api.extensions import db
from api.mentorship.schemas import STATUSES
from api.portable_sql import seconds_between
from shared.auth import Principal
from shared.models import Activity, AuditEntry, Conversation, Goal, Message, Relationship, Session, SessionAttendee

Window = tuple[dt.datetime, dt.datetime]  # [start, end)
DAY = dt.timedelta(days=1)
LONG_RELATIONSHIP = dt.timedelta(days=90)
ACCEPTED = ("active", "ended")
CAME = ("present", "late")
# Attendance that counts towards a rate: an excused absence is not held against it, an unrecorded one is unknown.
RECORDED = (*CAME, "absent")


def ratio(part: int, whole: int, digits: int = 3) -> float | None:
    return round(part / whole, digits) if whole else None


def _within(column, window: Window):
    return and_(column >= window[0], column < window[1])


def _count_if(condition):
    return func.sum(case((condition, 1), else_=0))


def _ints(row) -> list[int]:
    return [int(value or 0) for value in row]  # SUM is NULL over no rows, a Decimal on MySQL


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


def relationship_windows(windows: list[Window]) -> list[dict]:
    """Requests (and what became of them), answers, acceptance rate, endings and
    long relationships per window."""
    accepted = Relationship.status.in_(ACCEPTED)
    columns = []
    for window in windows:
        requested, answered = _within(Relationship.created_at, window), _within(Relationship.responded_at, window)
        lasting = and_(accepted, Relationship.responded_at <= window[1] - LONG_RELATIONSHIP,
                       or_(Relationship.ended_at.is_(None), Relationship.ended_at >= window[1]))
        columns += [_count_if(and_(requested, Relationship.status == status)) for status in STATUSES]
        columns += [_count_if(and_(answered, accepted)), _count_if(and_(answered, Relationship.status == "declined")),
                    _count_if(_within(Relationship.ended_at, window)), _count_if(lasting)]
    values = _ints(db.session.execute(select(*columns)).one())
    width, out = len(STATUSES) + 4, []
    for n in range(len(windows)):
        row = values[width * n:width * (n + 1)]
        by_status = dict(zip(STATUSES, row[:len(STATUSES)], strict=True))
        accepts, declines, ended, lasting = row[len(STATUSES):]
        out.append({"requests": sum(by_status.values()), "requests_by_status": by_status, "accepted": accepts,
                    "declined": declines, "acceptance_rate": ratio(accepts, accepts + declines), "ended": ended,
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


def session_windows(windows: list[Window], host: Principal | None = None) -> list[dict]:
    """Sessions held and cancelled (by their start) and the attendance rate of
    the ones held, per window; `host`: only the sessions they host."""
    def sessions_if(condition):  # one row per attendee: a session counts once, by its id
        return func.count(func.distinct(case((condition, Session.id), else_=None)))

    columns = []
    for window in windows:
        starting = _within(Session.starts_at, window)
        held = and_(Session.status == "completed", starting)
        columns += [sessions_if(held), sessions_if(and_(Session.status == "cancelled", starting)),
                    _count_if(and_(held, SessionAttendee.attendance.in_(CAME))),
                    _count_if(and_(held, SessionAttendee.attendance.in_(RECORDED)))]
    query = (select(*columns).select_from(Session)
             .outerjoin(SessionAttendee, SessionAttendee.session_id == Session.id)
             .where(Session.starts_at >= min(start for start, _ in windows),
                    Session.starts_at < max(end for _, end in windows)))
    if host is not None:
        query = query.where(Session.host_role == host.role, Session.host_id == host.id)
    values = _ints(db.session.execute(query).one())
    return [{"sessions_held": held, "sessions_cancelled": cancelled, "attendance_rate": ratio(came, recorded)}
            for held, cancelled, came, recorded in (values[4 * n:4 * (n + 1)] for n in range(len(windows)))]


PERIOD: list[Callable[[list[Window]], list[dict]]] = [
    relationship_windows, goal_windows, message_windows, active_user_windows, response_windows, session_windows,
]
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
