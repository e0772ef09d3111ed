"""Sessions: schedule, list by time window, change, cancel, complete, record attendance."""
from __future__ import annotations

from api.auth import current_principal
from api.docs import Blueprint
from api.extensions import db
from api.mentorship import scheduling
from api.mentorship.lifecycle import retry_on_deadlock
from api.mentorship.schemas import (
    AttendanceIn,
    SessionCancelIn,
    SessionIn,
    SessionOut,
    SessionPage,
    SessionPatch,
    SessionQuery,
)
from api.schemas import Augmented

blp = Blueprint("sessions", __name__, url_prefix="/api/v1/sessions", description="Mentoring sessions")
SESSION = "/<int(max=2147483647):session_id>"


@blp.route("", methods=["POST"])
@blp.authenticated("mentor", "admin")
@blp.arguments(SessionIn)
@blp.response(201, SessionOut)
@blp.errors(409)
@retry_on_deadlock
def create_session(body):
    """Schedule a session hosted by the caller: `relationship_id`, `attendees` or `conversation_id` says for whom."""
    session = scheduling.create(current_principal(), body)
    db.session.commit()
    return scheduling.with_attendees(session)


@blp.route("")
@blp.authenticated()
@blp.arguments(SessionQuery, location="query")
@blp.response(200, SessionPage)
def list_sessions(query):
    """The caller's sessions (host or attendee; admins and services: all) overlapping `from`-`to`, in time order."""
    sessions, cursors = scheduling.listing(current_principal(), query)
    attendees = scheduling.attendees_by_session([s.id for s in sessions])
    return {"sessions": [Augmented(s, attendees=attendees[s.id]) for s in sessions], **cursors}


@blp.route(SESSION)
@blp.authenticated()
@blp.response(200, SessionOut)
@blp.errors(404)
def get_session(session_id):
    """One session (host, attendees, admins)."""
    session, rows = scheduling.visible_session(session_id, current_principal())
    return Augmented(session, attendees=rows)


@blp.route(SESSION, methods=["PATCH"])
@blp.authenticated()
@blp.arguments(SessionPatch)
@blp.response(200, SessionOut)
@blp.errors(404, 409)
@retry_on_deadlock
def update_session(body, session_id):
    """Change the time, place or text (host, admin); a new time is checked for overlap and re-arms reminders."""
    session = scheduling.update(session_id, current_principal(), body)
    db.session.commit()
    return scheduling.with_attendees(session)


@blp.route(f"{SESSION}/cancel", methods=["POST"])
@blp.authenticated()
@blp.arguments(SessionCancelIn)
@blp.response(200, SessionOut)
@blp.errors(404, 409)
@retry_on_deadlock
def cancel_session(body, session_id):
    """Cancel a scheduled session with a `reason` (host, admin)."""
    session = scheduling.cancel(session_id, current_principal(), body["reason"])
    db.session.commit()
    return scheduling.with_attendees(session)


@blp.route(f"{SESSION}/complete", methods=["POST"])
@blp.authenticated()
@blp.response(200, SessionOut)
@blp.errors(404, 409)
def complete_session(session_id):
    """Mark a session that has started as held (the host)."""
    session = scheduling.complete(session_id, current_principal())
    db.session.commit()
    return scheduling.with_attendees(session)


@blp.route(f"{SESSION}/attendance", methods=["PUT"])
@blp.authenticated()
@blp.arguments(AttendanceIn(many=True))
@blp.response(200, SessionOut)
@blp.errors(404, 409)
def record_attendance(body, session_id):
    """Set attendees' attendance: `[{"principal", "status": present|absent|late|excused}]` (the host)."""
    session = scheduling.record_attendance(session_id, current_principal(), body)
    db.session.commit()
    return scheduling.with_attendees(session)
