"""GET /activity: the caller's activity feed across relationships, sessions and conversations.

The feed is the caller's personal room in the event log, read back: every item
is an event the API addressed to the caller when it happened (requests and
answers, goals, notes, new conversations, session changes but not reminders), so
nothing appears that the caller could not read then, and a former member gets
nothing of a conversation after leaving. Message text never appears: messages
are conversation events, not feed items. It reaches back as far as the event
log is kept (`python -m shared.prune`). One query per page.
"""
from __future__ import annotations

import json

from sqlalchemy import and_, or_, select

from api.auth import current_principal
from api.docs import Blueprint
from api.mentorship.schemas import FEED_TYPES, FeedPage, FeedQuery
from api.paging import fetch_page
from api.portable_sql import json_text
from shared import rooms
from shared.models import Event

blp = Blueprint("activity_feed", __name__, url_prefix="/api/v1", description="The caller's activity feed")

NOTE_EVENT = FEED_TYPES["note"]
# Event type -> feed type; `activity:created` is only a note's (other activities duplicate their own events).
FEED_TYPE_OF = {event_type: name for name, event_type in FEED_TYPES.items()}


def _wanted(types: list[str]):
    event_types = [FEED_TYPES[name] for name in types if name != "note"]
    conditions = [Event.type.in_(event_types)] if event_types else []
    if "note" in types:
        conditions.append(and_(Event.type == NOTE_EVENT, json_text(Event.data, "kind") == "note"))
    return or_(*conditions)


def _item(event: Event) -> dict:
    return {"id": event.id, "type": FEED_TYPE_OF[event.type], "created_at": event.created_at,
            "data": json.loads(event.data)}


@blp.route("/activity")
@blp.authenticated()
@blp.arguments(FeedQuery, location="query")
@blp.response(200, FeedPage)
def list_activity(query):
    """The caller's feed, newest first; pass `next_before` back as `before`."""
    stmt = select(Event).where(Event.room == rooms.personal(current_principal()),
                               _wanted(query.get("types") or list(FEED_TYPES)))
    if "before" in query:
        stmt = stmt.where(Event.id < query["before"])
    rows, more = fetch_page(stmt.order_by(Event.id.desc()), query["limit"])
    return {"activity": [_item(row) for row in rows], "next_before": rows[-1].id if more else None}
