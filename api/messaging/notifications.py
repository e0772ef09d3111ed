"""In-app notifications: the caller's list, marking them read, and the caller's preferences."""
from __future__ import annotations

from sqlalchemy import select, update

from api.auth import current_principal
from api.docs import Blueprint
from api.extensions import db
from api.messaging import preferences
from api.messaging.notifying import mine, unread_notifications
from api.messaging.schemas import (
    NotificationPage,
    NotificationPreferencesIn,
    NotificationPreferencesOut,
    NotificationQuery,
    NotificationsRead,
    NotificationsReadOut,
)
from api.paging import fetch_page
from shared.models import Notification
from shared.timeutil import utcnow

blp = Blueprint("notifications", __name__, url_prefix="/api/v1", description="In-app notifications")


@blp.route("/notifications")
@blp.authenticated()
@blp.arguments(NotificationQuery, location="query")
@blp.response(200, NotificationPage)
def list_notifications(args):
    """The caller's notifications, newest first (`unread=true` for unread only)."""
    query = select(Notification).where(*mine(current_principal())).order_by(Notification.id.desc())
    if args.get("unread") is not None:
        query = query.where(Notification.read_at.is_(None) if args["unread"] else Notification.read_at.is_not(None))
    if args.get("before") is not None:
        query = query.where(Notification.id < args["before"])
    rows, more = fetch_page(query, args["limit"])
    return {"notifications": rows, "next_before": rows[-1].id if more else None}


@blp.route("/notifications/read", methods=["POST"])
@blp.authenticated()
@blp.arguments(NotificationsRead)
@blp.response(200, NotificationsReadOut)
def mark_read(args):
    """Mark the given `ids` (only the caller's own) or `all` as read."""
    query = update(Notification).where(*mine(current_principal()), Notification.read_at.is_(None))
    if not args.get("all"):
        query = query.where(Notification.id.in_(args["ids"]))
    updated = db.session.execute(query.values(read_at=utcnow())).rowcount
    db.session.commit()
    return {"updated": updated, "unread": unread_notifications(current_principal())}


@blp.route("/notifications/preferences")
@blp.authenticated()
@blp.response(200, NotificationPreferencesOut)
def get_preferences():
    """The caller's notification preferences (the defaults until the first PUT)."""
    return preferences.as_document(current_principal())


@blp.route("/notifications/preferences", methods=["PUT"])
@blp.authenticated()
@blp.arguments(NotificationPreferencesIn)
@blp.response(200, NotificationPreferencesOut)
def put_preferences(body):
    """Set the caller's notification preferences (the whole of them: what is left out takes its default)."""
    preferences.replace(current_principal(), body)
    db.session.commit()
    return preferences.as_document(current_principal())
