"""Admin broadcasts to all, mentors or students."""
from __future__ import annotations

from api.auth import current_principal
from api.docs import Blueprint
from api.extensions import db
from api.messaging import broadcasting
from api.messaging.schemas import BroadcastCreate, BroadcastOut
from api.messaging.sending import check_body

blp = Blueprint("broadcasts", __name__, url_prefix="/api/v1", description="Admin broadcasts")


@blp.route("/broadcasts", methods=["POST"])
@blp.authenticated("admin")
@blp.arguments(BroadcastCreate)
@blp.response(201, BroadcastOut)
def create_broadcast(args):
    """Send a broadcast: a message, a notification per known recipient, one audience event."""
    audience = args["audience"]
    check_body(args["body"])
    sent = broadcasting.broadcast(current_principal(), audience, args["title"], args["body"])
    db.session.commit()
    return sent
