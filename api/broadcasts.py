"""Admin broadcasts to all, mentors or students."""
from __future__ import annotations

from flask_smorest import Blueprint

from api import broadcast_ops
from api.auth import current_principal, require_roles
from api.extensions import db
from api.message_ops import check_body
from api.messaging_schemas import BroadcastCreate

blp = Blueprint("broadcasts", __name__, url_prefix="/api/v1", description="Admin broadcasts")


@blp.route("/broadcasts", methods=["POST"])
@require_roles("admin")
@blp.arguments(BroadcastCreate)
@blp.response(201)
def create_broadcast(args):
    """Send a broadcast: a message, a notification per known recipient, one audience event."""
    audience = args["audience"]
    check_body(args["body"])
    conversation, message, count = broadcast_ops.broadcast(current_principal(), audience, args["title"], args["body"])
    db.session.commit()
    return broadcast_ops.broadcast_dict(conversation, message, audience, recipients=count)
