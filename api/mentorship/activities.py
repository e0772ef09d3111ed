"""The activity log of a relationship: append-only, written by every change
(see api/mentorship/activity_log.py) and by hand as notes."""
from __future__ import annotations

from sqlalchemy import select

from api.auth import current_principal
from api.docs import Blueprint
from api.extensions import db
from api.mentorship.access import visible_relationship, writable_relationship
from api.mentorship.activity_log import log_activity
from api.mentorship.schemas import ActivityOut, ActivityPage, NoteIn, PageQuery
from api.paging import fetch_page
from shared.models import Activity

blp = Blueprint("activities", __name__, url_prefix="/api/v1", description="Activity log of a mentorship")
ACTIVITIES = "/relationships/<int(max=2147483647):rel_id>/activities"


def _page(rel_id: int, query: dict) -> tuple[list[Activity], bool]:
    """Oldest first within the page: `after` reads forward, otherwise the
    newest `limit` entries (before `before`, when given). One extra row
    tells whether more lie beyond the page in the direction read."""
    stmt = select(Activity).where(Activity.relationship_id == rel_id)
    if "after" in query:
        return fetch_page(stmt.where(Activity.id > query["after"]).order_by(Activity.id), query["limit"])
    if "before" in query:
        stmt = stmt.where(Activity.id < query["before"])
    rows, more = fetch_page(stmt.order_by(Activity.id.desc()), query["limit"])
    return list(reversed(rows)), more


@blp.route(ACTIVITIES)
@blp.authenticated()
@blp.arguments(PageQuery, location="query")
@blp.response(200, ActivityPage)
@blp.errors(404)
def list_activities(query, rel_id):
    """One page of the log in id order (members and admins); `before`/`after` are activity ids."""
    visible_relationship(rel_id, current_principal())
    rows, has_more = _page(rel_id, query)
    return {"activities": rows, "has_more": has_more}


@blp.route(ACTIVITIES, methods=["POST"])
@blp.authenticated()
@blp.arguments(NoteIn)
@blp.response(201, ActivityOut)
@blp.errors(403, 404, 409)
def add_note(body, rel_id):
    """Add a note to the log (members of an active relationship)."""
    me = current_principal()
    note = log_activity(writable_relationship(rel_id, me), me, "note", text=body["text"])
    db.session.commit()
    return note
