"""The figures of each dashboard, from aggregate queries whose number does not grow with the data.

A dashboard is the union of its role's figure functions (`MENTOR`, `STUDENT`,
`ADMIN` at the bottom), each `fn(principal, now) -> {figure: value}` and one
query (two for the mentor's capacity and a student's mentor); the statistics
per period are in api/mentorship/period_figures.py.

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
  something logged in a relationship (activities) or the audit log, in the window;
- upcoming sessions: the scheduled sessions one hosts or attends that have not
  ended yet (one under way included), soonest first;
- sessions held: completed sessions, by when they started; attendance rate:
  of their attendees whose attendance was recorded, the share present or late
  ((present + late) / (present + late + absent); excused and unrecorded are
  left out).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import func, select

from api.auth import app_config
from api.extensions import db
from api.mentorship.period_figures import (
    DAY,
    active_user_counts,
    message_counts,
    ratio,
    relationship_windows,
    response_medians,
    session_windows,
)
from api.mentorship.scheduling import involving
from api.mentorship.schemas import GOAL_STATUSES, STATUSES
from api.messaging.inbox import unread_counts
from shared.auth import Principal
from shared.models import Goal, MentorProfile, Relationship, Session
from shared.timeutil import isoformat_z

LOOKBACK = dt.timedelta(days=30)  # the rates and medians of a dashboard (not of /dashboard/stats)
NEXT_SESSIONS = 3  # the upcoming sessions listed (all are counted)


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
            "completion_rate": ratio(by_status["completed"], pursued),
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

def mentor_first_response(me: Principal, now: dt.datetime) -> dict:
    (median,) = response_medians([(now - LOOKBACK, now)], mentor_id=me.id)
    return {"median_first_response_seconds": median}

# Sessions

def upcoming_sessions(me: Principal, now: dt.datetime) -> dict:
    """How many, and the next few: the total comes with each row (a window count, before the LIMIT)."""
    rows = db.session.execute(
        select(Session.id, Session.title, Session.starts_at, Session.ends_at, func.count().over().label("total"))
        .where(involving(me), Session.status == "scheduled", Session.ends_at > now)
        .order_by(Session.starts_at, Session.id).limit(NEXT_SESSIONS)
    ).all()
    return {"upcoming_sessions": {
        "count": rows[0].total if rows else 0,
        "next": [{"id": row.id, "title": row.title, "starts_at": isoformat_z(row.starts_at),
                  "ends_at": isoformat_z(row.ends_at)} for row in rows],
    }}


def mentor_attendance(me: Principal, now: dt.datetime) -> dict:
    """Of the sessions the mentor hosted in the last 30 days."""
    (recent,) = session_windows([(now - LOOKBACK, now)], host=me)
    return {"sessions_held": recent["sessions_held"], "attendance_rate": recent["attendance_rate"]}


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


def admin_sessions(me: Principal, now: dt.datetime) -> dict:
    (recent,) = session_windows([(now - LOOKBACK, now)])
    return {"sessions_held_30d": recent["sessions_held"], "attendance_rate_30d": recent["attendance_rate"]}


Figure = Callable[[Principal, dt.datetime], dict]
MENTOR: list[Figure] = [mentor_relationships, mentor_capacity, mentor_goals, unread_messages, mentor_first_response,
                        upcoming_sessions, mentor_attendance]
STUDENT: list[Figure] = [student_mentor, student_relationships, student_goals, unread_messages, upcoming_sessions]
ADMIN: list[Figure] = [relationships_by_status, admin_relationships, all_goals, admin_messages,
                       admin_active_users, admin_response_time, admin_sessions]
ROLE_FIGURES = {"mentor": MENTOR, "student": STUDENT, "admin": ADMIN, "service": ADMIN}


def dashboard(principal: Principal, now: dt.datetime) -> dict:
    """The principal's figures: one or two queries per figure function, whatever the data size."""
    figures: dict = {}
    for figure in ROLE_FIGURES[principal.role]:
        figures.update(figure(principal, now))
    return figures
