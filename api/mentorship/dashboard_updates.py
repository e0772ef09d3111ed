"""Live dashboards: `dashboard:updated`, debounced, with the figures that changed.

Nothing is added to the paths that change things (sending a message stays as
it was): the periodic job reads the event log after them. Each tick, in one
transaction:

1. **Scan.** Claim the log cursor (FOR UPDATE SKIP LOCKED: one process scans at
   a time), read the events after it and mark the watchers they concern as due
   `DASHBOARD_DEBOUNCE_SECONDS` from now, unless already due (so the first
   change of a burst sets the time and the rest ride along): the owner of a
   personal room for relationship, goal, session and membership events; the current
   participants of a conversation for its message and read events; every admin
   and service watcher for anything their figures count (a profile change,
   which logs no event, marks its watchers itself: `mark_profile_change`). An id missing from
   the log (a transaction still committing, or one rolled back) holds the
   cursor back for up to `LATE_COMMIT_WAIT`, so a late commit is not skipped.
   Marking is idempotent, so a repeated scan does no harm.
2. **Send.** Claim the due watchers (FOR UPDATE SKIP LOCKED, then a
   conditional UPDATE whose row count says who won, which also serialises
   SQLite processes), recompute their figures, and record `dashboard:updated`
   `{"figures": {<the ones that changed>}}` to their personal room; the figures
   sent are stored as the next comparison's base.

A watcher is a principal who opened `GET /dashboard` within `WATCH_FOR`.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.exc import IntegrityError

from api import periodic
from api.auth import app_config
from api.extensions import db
from api.mentorship.dashboard_figures import dashboard
from api.outbox import record
from api.schemas import MAX_PRINCIPAL_ID
from shared import rooms
from shared.auth import Principal
from shared.models import DashboardCursor, DashboardWatcher, Event, Participant, Relationship

WATCH_FOR = dt.timedelta(days=7)  # a dashboard not opened for this long stops updating live
LATE_COMMIT_WAIT = dt.timedelta(seconds=5)
# A wider gap is not transactions in flight but rows gone (pruned, or a log emptied before the cursor began).
IN_FLIGHT_IDS = 1000
SCAN_BATCH = 5000  # events read per tick
SEND_BATCH = 200  # dashboards recomputed per tick
CURSOR_ID = 1

RELATIONSHIP_TYPES = {f"relationship:{verb}" for verb in ("requested", "accepted", "declined", "cancelled", "ended")}
GOAL_TYPES = {"goal:created", "goal:updated", "goal:deleted"}
# Reminders change no figure.
SESSION_TYPES = {f"session:{verb}" for verb in ("created", "updated", "cancelled", "completed", "attendance")}
PERSONAL_TYPES = (RELATIONSHIP_TYPES | GOAL_TYPES | SESSION_TYPES
                  | {"conversation:created", "participant:added", "participant:removed"})
CONVERSATION_TYPES = {"message:created", "message:deleted", "conversation:read", "participant:added",
                      "participant:removed"}
# The admin's session figures count held sessions and their attendance only.
ADMIN_TYPES = (RELATIONSHIP_TYPES | GOAL_TYPES | {"message:created", "activity:created", "session:completed",
                                                  "session:attendance"})
STAFF_ROLES = ("admin", "service")
PERSONAL_ROOMS = ("mentor", "student", *STAFF_ROLES)


def watch(principal: Principal, figures: dict, now: dt.datetime) -> None:
    """Make the principal a watcher with `figures` as what they last saw (one upsert).

    It is also due one debounce later: a change that committed while the view
    computed may have been scanned before the watcher existed."""
    due = now + dt.timedelta(seconds=app_config().dashboard_debounce_seconds)
    values = {"role": principal.role, "principal_id": principal.id, "figures": figures, "viewed_at": now,
              "due_at": due, "updated_at": now}
    changes = {"figures": figures, "viewed_at": now, "updated_at": now,
               "due_at": func.coalesce(DashboardWatcher.due_at, due)}
    if db.session.get_bind().dialect.name == "sqlite":
        stmt = sqlite.insert(DashboardWatcher).values(values).on_conflict_do_update(
            index_elements=["role", "principal_id"], set_=changes)
    else:
        stmt = mysql.insert(DashboardWatcher).values(values).on_duplicate_key_update(changes)
    db.session.execute(stmt)


# 1. Scan

def _claim_cursor() -> DashboardCursor | None:
    """The cursor row, locked; None when another process holds it (or it was just created)."""
    stmt = select(DashboardCursor).where(DashboardCursor.id == CURSOR_ID)
    cursor = db.session.execute(stmt.with_for_update(skip_locked=True)).scalar_one_or_none()
    if cursor is not None or db.session.execute(select(DashboardCursor.id)).first() is not None:
        return cursor
    # First run: start at the end of the log; dashboards opened before now were computed fresh.
    try:
        with db.session.begin_nested():
            db.session.add(DashboardCursor(id=CURSOR_ID, last_event_id=db.session.scalar(
                select(func.coalesce(func.max(Event.id), 0)))))
    except IntegrityError:
        pass  # another process created it
    return None


def _readable(events: list, after: int, now: dt.datetime) -> list:
    """The events up to the first gap that may still fill: narrower than IN_FLIGHT_IDS,
    and the event after it younger than LATE_COMMIT_WAIT."""
    # A cursor begun on an empty log (0) cannot tell where ids start (MySQL keeps counting after deletes).
    readable, expected = [], after + 1 if after else None
    for event in events:
        if (expected is not None and expected < event.id < expected + IN_FLIGHT_IDS
                and now - event.created_at < LATE_COMMIT_WAIT):
            break
        readable.append(event)
        expected = event.id + 1
    return readable


def _room_id(room: str, kinds: tuple[str, ...]) -> tuple[str, int] | None:
    """(kind, id) of a room like `mentor:12`, when the id fits the id columns: anyone
    may publish to `mentor:9999999999999999999` (POST /events), which no row can match."""
    kind, _, number = room.partition(":")
    if kind in kinds and number.isascii() and number.isdigit() and int(number) <= MAX_PRINCIPAL_ID:
        return kind, int(number)
    return None


def _not_due(now: dt.datetime):
    return and_(DashboardWatcher.due_at.is_(None), DashboardWatcher.viewed_at >= now - WATCH_FOR)


def _mark(condition, due: dt.datetime, now: dt.datetime) -> None:
    db.session.execute(update(DashboardWatcher).where(_not_due(now), condition).values(due_at=due)
                       .execution_options(synchronize_session=False))


def mark_profile_change(mentor_id: int, now: dt.datetime) -> None:
    """A mentor's profile changed, which logs no event: their capacity, and the
    name their mentee sees, are due for an update (one UPDATE, in the change's transaction)."""
    mentees = select(Relationship.student_id).where(Relationship.mentor_id == mentor_id,
                                                    Relationship.status == "active")
    _mark(or_(and_(DashboardWatcher.role == "mentor", DashboardWatcher.principal_id == mentor_id),
              and_(DashboardWatcher.role == "student", DashboardWatcher.principal_id.in_(mentees))),
          now + dt.timedelta(seconds=app_config().dashboard_debounce_seconds), now)


def _mark_concerned(events: list, due: dt.datetime, now: dt.datetime) -> None:
    """A SELECT and at most two UPDATEs (by primary key) for a whole batch of events."""
    people: dict[str, set[int]] = defaultdict(set)
    conversations: set[int] = set()
    for event in events:
        owner = _room_id(event.room, PERSONAL_ROOMS)
        conversation = _room_id(event.room, ("conversation",))
        if owner is not None and event.type in PERSONAL_TYPES:
            people[owner[0]].add(owner[1])
        elif conversation is not None and event.type in CONVERSATION_TYPES:
            conversations.add(conversation[1])
    if conversations:
        members = select(Participant.role, Participant.principal_id).where(
            Participant.conversation_id.in_(conversations), Participant.left_at.is_(None)).distinct()
        for role, principal_id in db.session.execute(members):
            people[role].add(principal_id)
    if people:
        _mark(or_(*(and_(DashboardWatcher.role == role, DashboardWatcher.principal_id.in_(ids))
                    for role, ids in people.items())), due, now)
    if any(event.type in ADMIN_TYPES for event in events):
        _mark(DashboardWatcher.role.in_(STAFF_ROLES), due, now)


def scan_log(now: dt.datetime) -> int:
    """Mark the watchers concerned by the events logged since the last scan; how many events were read."""
    cursor = _claim_cursor()
    if cursor is None:
        return 0
    events = db.session.execute(
        select(Event.id, Event.room, Event.type, Event.created_at)
        .where(Event.id > cursor.last_event_id).order_by(Event.id).limit(SCAN_BATCH)
    ).all()
    events = _readable(events, cursor.last_event_id, now)
    if not events:
        return 0
    _mark_concerned(events, now + dt.timedelta(seconds=app_config().dashboard_debounce_seconds), now)
    cursor.last_event_id, cursor.updated_at = events[-1].id, now
    return len(events)


# 2. Send

def _claim(watcher, now: dt.datetime) -> bool:
    key = and_(DashboardWatcher.role == watcher.role, DashboardWatcher.principal_id == watcher.principal_id)
    claimed = db.session.execute(
        update(DashboardWatcher).where(key, DashboardWatcher.due_at == watcher.due_at).values(due_at=None)
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


def send_due(now: dt.datetime) -> int:
    """Recompute the due dashboards; `dashboard:updated` to those whose figures changed. How many were sent."""
    due = db.session.execute(
        select(DashboardWatcher.role, DashboardWatcher.principal_id, DashboardWatcher.due_at,
               DashboardWatcher.figures)
        .where(DashboardWatcher.due_at <= now).order_by(DashboardWatcher.due_at).limit(SEND_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    staff_figures: dict | None = None  # the same for every admin and service: computed once a tick
    sent = 0
    for watcher in due:
        if not _claim(watcher, now):
            continue
        principal = Principal(watcher.role, watcher.principal_id)
        if principal.role in STAFF_ROLES:
            staff_figures = staff_figures or dashboard(principal, now)
            figures = staff_figures
        else:
            figures = dashboard(principal, now)
        changed = {name: value for name, value in figures.items() if (watcher.figures or {}).get(name) != value}
        if changed:
            record(rooms.personal(principal), "dashboard:updated", {"figures": changed})
            db.session.execute(
                update(DashboardWatcher)
                .where(DashboardWatcher.role == principal.role, DashboardWatcher.principal_id == principal.id)
                .values(figures=figures, updated_at=now).execution_options(synchronize_session=False)
            )
            sent += 1
    return sent


@periodic.job("dashboard_updates")
def update_dashboards(now: dt.datetime) -> int:
    scan_log(now)
    return send_due(now)
