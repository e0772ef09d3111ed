"""Sessions: who they are for, the no-overlap rule and its lock, and every
change with its events, notifications, reminders and audit entry.

A host holds no two non-cancelled sessions that overlap. Placing a session
(creating it, or moving it) first locks the host's `session_hosts` row - an
upsert takes the row lock in one statement, so there is no insert race to
lose - then looks for overlapping sessions with a locking read: a
concurrent placement for the same host waits for the lock, and the locking
read sees what it committed (a plain read would see the transaction's
REPEATABLE READ snapshot, which may predate it). A move takes the host lock
before the session's row lock, in the same order as a creation. SQLite
serialises writers anyway.

Everything a change writes (the row, attendees, reminders, events to the
host's and attendees' personal rooms, notifications, the audit entry) is in
the caller's transaction.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from api import audit_trail
from api.auth import app_config
from api.extensions import db
from api.mentorship.access import STAFF
from api.mentorship.schemas import session_out
from api.messaging.notifying import notify_many
from api.outbox import record
from api.schemas import Augmented
from shared import rooms
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.models import (
    Conversation,
    Participant,
    Relationship,
    Session,
    SessionAttendee,
    SessionHost,
    SessionReminder,
)
from shared.timeutil import isoformat_z, utcnow

MAX_DURATION = dt.timedelta(hours=24)
# How far from now a session may be placed: a past one can be recorded, a decade ahead is a typo.
MAX_AHEAD = dt.timedelta(days=2 * 366)
MAX_BEHIND = dt.timedelta(days=366)
AUDITED = ("title", "description", "location", "starts_at", "ends_at", "status", "cancel_reason", "sequence")
# What the host may change with PATCH (time, place, text).
CHANGEABLE = ("title", "description", "location", "starts_at", "ends_at")


def host_of(session: Session) -> Principal:
    return Principal(session.host_role, session.host_id)


def attendee_rows(session_id: int) -> list[SessionAttendee]:
    stmt = select(SessionAttendee).where(SessionAttendee.session_id == session_id)
    return list(db.session.execute(stmt.order_by(SessionAttendee.role, SessionAttendee.principal_id)).scalars())


def principal_of(row: SessionAttendee) -> Principal:
    return Principal(row.role, row.principal_id)


def recipients(session: Session, rows: list[SessionAttendee]) -> list[Principal]:
    """The host and every attendee: who hears of a change."""
    return [host_of(session), *(principal_of(row) for row in rows)]


def session_data(session: Session, rows: list[SessionAttendee] | None = None) -> dict:
    """The session as the REST API returns it."""
    return session_out.dump(Augmented(session, attendees=attendee_rows(session.id) if rows is None else rows))


def with_attendees(session: Session) -> Augmented:
    return Augmented(session, attendees=attendee_rows(session.id))


# Who sees and who changes a session

def visible_session(session_id: int, principal: Principal, lock: bool = False) -> tuple[Session, list]:
    """The session and its attendees if the caller is its host, an attendee
    or staff; 404 otherwise (a stranger does not learn it exists). `lock`
    takes the row lock that serialises changes to one session."""
    session = db.session.get(Session, session_id, with_for_update=lock or None, populate_existing=lock)
    rows = attendee_rows(session_id) if session is not None else []
    if session is None or not (
        principal.role in STAFF or principal == host_of(session) or principal in map(principal_of, rows)
    ):
        raise NotFound(f"session {session_id} not found", code="session_not_found")
    return session, rows


def hosted_session(session_id: int, principal: Principal, admin: bool = True,
                   lock_host_first: bool = False) -> tuple[Session, list]:
    """For changes: the host, or (where `admin`) an admin; 403 for attendees and services.
    `lock_host_first`: take the host's lock row before the session's row (a move)."""
    if lock_host_first:
        found = db.session.get(Session, session_id)
        if found is not None:
            lock_host(host_of(found))
    session, rows = visible_session(session_id, principal, lock=True)
    if principal != host_of(session) and not (admin and principal.role == "admin"):
        who = "the host or an admin" if admin else "the host"
        raise Forbidden(f"only {who} changes session {session_id}", code="not_the_host")
    return session, rows


def _require_status(session: Session, *allowed: str) -> None:
    if session.status not in allowed:
        raise Conflict(f"session {session.id} is {session.status}", code="session_not_scheduled",
                       details={"status": session.status})


# Time and overlap

def check_times(starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> None:
    problems = {}
    if ends_at <= starts_at:
        problems["ends_at"] = ["must be after starts_at"]
    elif ends_at - starts_at > MAX_DURATION:
        problems["ends_at"] = ["a session lasts at most 24 hours"]
    if starts_at > now + MAX_AHEAD:
        problems["starts_at"] = ["at most two years ahead"]
    elif starts_at < now - MAX_BEHIND:
        problems["starts_at"] = ["at most a year in the past"]
    if problems:
        raise Invalid("the session's times do not work", details=problems)


def lock_host(host: Principal) -> None:
    """Take the host's lock row FOR UPDATE, creating it if it is not there."""
    values = {"host_role": host.role, "host_id": host.id}
    if db.session.get_bind().dialect.name == "sqlite":
        stmt = sqlite_insert(SessionHost).values(**values).on_conflict_do_nothing()
    else:
        # The upsert takes the row's exclusive lock whether it inserts or not (no S-to-X deadlock).
        stmt = mysql_insert(SessionHost).values(**values).on_duplicate_key_update(host_id=SessionHost.host_id)
    db.session.execute(stmt)


def check_overlap(host: Principal, starts_at: dt.datetime, ends_at: dt.datetime, exclude: int | None = None) -> None:
    stmt = select(Session.id).where(
        Session.host_role == host.role, Session.host_id == host.id, Session.status != "cancelled",
        Session.starts_at < ends_at, Session.ends_at > starts_at,
    )
    if exclude is not None:
        stmt = stmt.where(Session.id != exclude)
    stmt = stmt.order_by(Session.starts_at).limit(10).with_for_update(read=True)
    clashes = list(db.session.execute(stmt).scalars())
    if clashes:
        raise Conflict(
            f"{host} already has a session then", code="session_overlaps", details={"sessions": clashes}
        )


# Reminders

def arm_reminders(session: Session, now: dt.datetime) -> None:
    """One row per SESSION_REMINDER_MINUTES offset still ahead (a session placed
    30 minutes from now gets its 10-minute reminder, not a late 60-minute one)."""
    disarm_reminders(session.id)
    for minutes in app_config().session_reminder_minutes:
        due = session.starts_at - dt.timedelta(minutes=minutes)
        if due > now:
            db.session.add(SessionReminder(session_id=session.id, minutes_before=minutes, due_at=due))


def disarm_reminders(session_id: int) -> None:
    db.session.execute(delete(SessionReminder).where(SessionReminder.session_id == session_id))


# Who a session is for

def _relationship_audience(principal: Principal, rel_id: int) -> tuple[Relationship, list[Principal]]:
    # A shared lock: an end racing this waits for it (and then cancels the new session too), or goes first.
    rel = db.session.get(Relationship, rel_id, with_for_update={"read": True}, populate_existing=True)
    ours = rel is not None and (principal.role == "admin" or principal == Principal("mentor", rel.mentor_id))
    if not ours or rel.status != "active":
        message = "not an active relationship of yours"
        raise Invalid(message, details={"relationship_id": [message]})
    if principal.role == "admin":
        return rel, [Principal("mentor", rel.mentor_id), Principal("student", rel.student_id)]
    return rel, [Principal("student", rel.student_id)]


def _listed_audience(principal: Principal, people: list[dict]) -> list[Principal]:
    """A mentor invites their active mentees; an admin anyone (mentors, students, admins)."""
    attendees = [Principal(p["role"], p["id"]) for p in people]
    problems: dict[str, list[str]] = {}
    seen: set[Principal] = set()
    for index, person in enumerate(attendees):
        if person == principal:
            problems[str(index)] = ["the host is not an attendee"]
        elif person in seen:
            problems[str(index)] = ["listed twice"]
        seen.add(person)
    if principal.role == "mentor":
        wanted = {p.id for p in attendees if p.role == "student"}
        mentees = set(db.session.execute(select(Relationship.student_id).where(
            Relationship.mentor_id == principal.id, Relationship.status == "active",
            Relationship.student_id.in_(wanted),
        )).scalars()) if wanted else set()
        for index, person in enumerate(attendees):
            if person != principal and not (person.role == "student" and person.id in mentees):
                problems.setdefault(str(index), ["not an active mentee of yours"])
    if problems:
        raise Invalid("some attendees cannot be invited", details={"attendees": problems})
    return attendees


def _conversation_audience(principal: Principal, conversation_id: int) -> list[Principal]:
    """The current participants of a group conversation the host is in (an admin: any group)."""
    conversation = db.session.get(Conversation, conversation_id)
    members = []
    if conversation is not None and conversation.type == "group":
        stmt = select(Participant.role, Participant.principal_id).where(
            Participant.conversation_id == conversation_id, Participant.left_at.is_(None)
        )
        members = [Principal(role, pid) for role, pid in db.session.execute(stmt.order_by(Participant.id))]
    if principal not in members and not (conversation is not None and conversation.type == "group"
                                         and principal.role == "admin"):
        message = "not a group conversation of yours"
        raise Invalid(message, details={"conversation_id": [message]})
    attendees = [m for m in members if m != principal]
    if not attendees:
        raise Invalid("the conversation has nobody else in it", details={"conversation_id": ["nobody else in it"]})
    return attendees


# Changes

def _announce(session: Session, rows: list[SessionAttendee], type_: str, actor: Principal, title: str,
              tell: list[Principal] | None = None, extra: dict | None = None) -> None:
    """The event to the host and every attendee, and a notification to each of
    `tell` (default: all of them) but the actor."""
    data = {**session_data(session, rows), **(extra or {})}
    everyone = recipients(session, rows)
    for person in everyone:
        record(rooms.personal(person), type_, data, flush=False)
    told = [person for person in (everyone if tell is None else tell) if person != actor]
    # One query for everyone's preferences, then one INSERT per notification.
    notify_many(told, type_.replace(":", "_"), title, link=f"/sessions/{session.id}",
                data={"session_id": session.id}, defer_event=True)


def _when(session: Session) -> str:
    return isoformat_z(session.starts_at)


def create(principal: Principal, body: dict) -> Session:
    """A new session hosted by the caller, for a relationship, a list of people or a group."""
    now = utcnow()
    rel_id = conversation_id = None
    if "relationship_id" in body:
        rel, attendees = _relationship_audience(principal, body["relationship_id"])
        rel_id = rel.id
    elif "conversation_id" in body:
        attendees = _conversation_audience(principal, body["conversation_id"])
        conversation_id = body["conversation_id"]
    else:
        attendees = _listed_audience(principal, body["attendees"])
    check_times(body["starts_at"], body["ends_at"], now)
    lock_host(principal)
    check_overlap(principal, body["starts_at"], body["ends_at"])
    session = Session(
        host_role=principal.role, host_id=principal.id, relationship_id=rel_id, conversation_id=conversation_id,
        status="scheduled", sequence=0, **{name: body.get(name) for name in CHANGEABLE},
    )
    db.session.add(session)
    db.session.flush()
    rows = [SessionAttendee(session_id=session.id, role=p.role, principal_id=p.id) for p in attendees]
    db.session.add_all(rows)
    arm_reminders(session, now)
    db.session.flush()
    audit_trail.record_change("session", session.id, "created", None, audit_trail.snapshot(session, AUDITED))
    _announce(session, rows, "session:created", principal, f"New session: {session.title} at {_when(session)}")
    return session


def update(session_id: int, principal: Principal, changes: dict) -> Session:
    """Change time, place or text (host or admin); a move re-checks overlap and re-arms reminders."""
    moving = "starts_at" in changes or "ends_at" in changes
    session, rows = hosted_session(session_id, principal, lock_host_first=moving)
    _require_status(session, "scheduled")
    before = audit_trail.snapshot(session, AUDITED)
    changed = {name: value for name, value in changes.items() if getattr(session, name) != value}
    if not changed:
        return session
    now = utcnow()
    starts_at, ends_at = changed.get("starts_at", session.starts_at), changed.get("ends_at", session.ends_at)
    moved = "starts_at" in changed or "ends_at" in changed
    if moved:
        check_times(starts_at, ends_at, now)
        check_overlap(host_of(session), starts_at, ends_at, exclude=session.id)
    for name, value in changed.items():
        setattr(session, name, value)
    session.sequence += 1
    if "starts_at" in changed:
        arm_reminders(session, now)
    db.session.flush()
    audit_trail.record_change("session", session.id, "updated", before, audit_trail.snapshot(session, AUDITED))
    what = f"moved to {_when(session)}" if moved else "changed"
    _announce(session, rows, "session:updated", principal, f"Session {what}: {session.title}")
    return session


def _cancel(session: Session, rows: list, actor: Principal, reason: str) -> None:
    before = audit_trail.snapshot(session, AUDITED)
    session.status, session.cancel_reason, session.cancelled_at = "cancelled", reason, utcnow()
    session.sequence += 1
    disarm_reminders(session.id)
    db.session.flush()
    audit_trail.record_change(
        "session", session.id, "cancelled", before, audit_trail.snapshot(session, AUDITED), actor=actor
    )
    _announce(session, rows, "session:cancelled", actor, f"Session cancelled: {session.title}")


def cancel(session_id: int, principal: Principal, reason: str) -> Session:
    session, rows = hosted_session(session_id, principal)
    _require_status(session, "scheduled")
    _cancel(session, rows, principal, reason)
    return session


def cancel_for_relationship(rel: Relationship, actor: Principal, reason: str | None) -> int:
    """When a relationship ends: its sessions still to come are cancelled, in the same transaction."""
    stmt = select(Session).where(
        Session.relationship_id == rel.id, Session.status == "scheduled", Session.starts_at > utcnow()
    ).order_by(Session.id).with_for_update()
    sessions = list(db.session.execute(stmt).scalars())
    for session in sessions:
        why = f"the mentorship ended: {reason or 'no reason given'}"[:2000]
        _cancel(session, attendee_rows(session.id), actor, why)
    return len(sessions)


def complete(session_id: int, principal: Principal) -> Session:
    """Mark a session that has started as held (the host)."""
    session, rows = hosted_session(session_id, principal, admin=False)
    _require_status(session, "scheduled")
    now = utcnow()
    if session.starts_at > now:
        raise Conflict(f"session {session.id} has not started yet", code="session_not_started")
    before = audit_trail.snapshot(session, AUDITED)
    session.status, session.completed_at = "completed", now
    disarm_reminders(session.id)
    db.session.flush()
    audit_trail.record_change("session", session.id, "completed", before, audit_trail.snapshot(session, AUDITED))
    _announce(session, rows, "session:completed", principal, f"Session held: {session.title}")
    return session


def record_attendance(session_id: int, principal: Principal, entries: list[dict]) -> Session:
    """Set the attendance of the listed attendees (the host); others keep theirs.
    `excused` may be given ahead of time, the rest once the session has started."""
    session, rows = hosted_session(session_id, principal, admin=False)
    _require_status(session, "scheduled", "completed")
    now = utcnow()
    by_principal = {principal_of(row): row for row in rows}
    problems: dict[str, list[str]] = {}
    seen: set[Principal] = set()
    if not 1 <= len(entries) <= max(len(rows), 1):
        raise Invalid("list each attendee at most once", details={"_schema": [f"1 to {len(rows)} entries"]})
    for index, entry in enumerate(entries):
        person = Principal(entry["principal"]["role"], entry["principal"]["id"])
        if person not in by_principal:
            problems[str(index)] = ["not an attendee of this session"]
        elif person in seen:
            problems[str(index)] = ["listed twice"]
        elif entry["status"] != "excused" and session.starts_at > now:
            problems[str(index)] = ["the session has not started; only excused can be given ahead"]
        seen.add(person)
    if problems:
        raise Invalid("attendance refused", details=problems)
    changed = []
    for entry in entries:
        row = by_principal[Principal(entry["principal"]["role"], entry["principal"]["id"])]
        if row.attendance != entry["status"]:
            changed.append({"principal": principal_of(row).as_dict(), "before": row.attendance,
                            "after": entry["status"]})
            row.attendance, row.attendance_at = entry["status"], now
    if changed:
        db.session.flush()
        audit_trail.record_change("session", session.id, "attendance", {"attendance": [c["before"] for c in changed]},
                                  {"attendance": changed})
        told = [Principal(**c["principal"]) for c in changed]
        _announce(session, rows, "session:attendance", principal, f"Attendance recorded: {session.title}", tell=told)
    return session


def involving(principal: Principal):
    """SQL condition: sessions the principal hosts or attends."""
    attending = select(SessionAttendee.session_id).where(
        SessionAttendee.role == principal.role, SessionAttendee.principal_id == principal.id
    )
    return or_(and_(Session.host_role == principal.role, Session.host_id == principal.id), Session.id.in_(attending))


def listing(principal: Principal, query: dict) -> tuple[list[Session], dict]:
    """The caller's sessions (host or attendee; staff: all) overlapping [from, to), in time order."""
    now = utcnow()
    start = query.get("from_") or now
    end = query.get("to") or start + dt.timedelta(days=31)
    if end <= start:
        raise Invalid("the window is empty", details={"to": ["must be after from"]})
    if end - start > dt.timedelta(days=366):
        raise Invalid("the window is too long", details={"to": ["at most 366 days after from"]})
    stmt = select(Session).where(Session.starts_at < end, Session.ends_at > start)
    if principal.role not in STAFF:
        stmt = stmt.where(involving(principal))
    if "status" in query:
        stmt = stmt.where(Session.status == query["status"])
    limit = query["limit"]
    cursor_id = query.get("after") or query.get("before")
    backwards = "before" in query
    if cursor_id is not None:
        cursor = db.session.get(Session, cursor_id)
        if cursor is None:
            raise Invalid("unknown cursor", details={"before" if backwards else "after": ["not a session"]})
        key = (cursor.starts_at, cursor.id)
        if backwards:
            stmt = stmt.where(or_(Session.starts_at < key[0], and_(Session.starts_at == key[0], Session.id < key[1])))
        else:
            stmt = stmt.where(or_(Session.starts_at > key[0], and_(Session.starts_at == key[0], Session.id > key[1])))
    order = (Session.starts_at.desc(), Session.id.desc()) if backwards else (Session.starts_at, Session.id)
    sessions = list(db.session.execute(stmt.order_by(*order).limit(limit + 1)).scalars())
    more = len(sessions) > limit
    sessions = sessions[:limit]
    if backwards:
        sessions.reverse()
    cursors = {"next_after": None, "next_before": None}
    if more and sessions:
        cursors["next_before" if backwards else "next_after"] = sessions[0].id if backwards else sessions[-1].id
    return sessions, cursors


def attendees_by_session(session_ids: list[int]) -> dict[int, list[SessionAttendee]]:
    """Attendees of many sessions in one query."""
    out: dict[int, list[SessionAttendee]] = {sid: [] for sid in session_ids}
    if session_ids:
        stmt = select(SessionAttendee).where(SessionAttendee.session_id.in_(session_ids)).order_by(
            SessionAttendee.session_id, SessionAttendee.role, SessionAttendee.principal_id
        )
        for row in db.session.execute(stmt).scalars():
            out[row.session_id].append(row)
    return out
