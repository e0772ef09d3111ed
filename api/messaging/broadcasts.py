"""Admin broadcasts to all, mentors or students."""
from __future__ import annotations

from flask_smorest import Blueprint

from api.auth import current_principal, require_roles
from api.extensions import db
from api.messaging import broadcasting
from api.messaging.schemas import BroadcastCreate
from api.messaging.sending import check_body

blp = Blueprint("broadcasts", __name__, url_prefix="/api/v1", description="Admin broadcasts")


@blp.route("/broadcasts", methods=["POST"])
@require_roles("admin")
@blp.arguments(BroadcastCreate)
@blp.response(201)
def create_broadcast(args):
    """Send a broadcast: a message, a notification per known recipient, one audience event."""
    audience = args["audience"]
    check_body(args["body"])
    conversation, message, count = broadcasting.broadcast(current_principal(), audience, args["title"], args["body"])
    db.session.commit()
    return broadcasting.broadcast_dict(conversation, message, audience, recipients=count)
