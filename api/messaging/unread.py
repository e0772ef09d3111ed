"""Unread counts across the caller's conversations and notifications."""
from __future__ import annotations

from api.auth import current_principal
from api.docs import Blueprint
from api.messaging.inbox import unread_counts
from api.messaging.notifying import unread_notifications
from api.messaging.schemas import UnreadOut

blp = Blueprint("unread", __name__, url_prefix="/api/v1", description="Unread counts")


@blp.route("/unread")
@blp.authenticated()
@blp.response(200, UnreadOut)
def get_unread():
    """Unread messages per conversation (non-zero only), their total, and unread notifications."""
    counts = unread_counts(current_principal())
    return {
        "total": sum(counts.values()),
        "conversations": [{"id": cid, "unread": n} for cid, n in sorted(counts.items()) if n],
        "notifications": unread_notifications(current_principal()),
    }
