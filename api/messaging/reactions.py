"""Reactions on a message: `PUT` / `DELETE /messages/{id}/reactions/{emoji}` (the emoji URL-encoded)."""
from __future__ import annotations

from api.auth import current_principal
from api.docs import Blueprint
from api.extensions import db
from api.messaging import reacting
from api.messaging.schemas import ReactionsOut

blp = Blueprint("reactions", __name__, url_prefix="/api/v1", description="Reactions on messages")
REACTION = "/messages/<int(max=9223372036854775807):message_id>/reactions/<emoji>"


@blp.route(REACTION, methods=["PUT"])
@blp.authenticated()
@blp.response(201, ReactionsOut, description="The reaction was added; the message's reactions.")
@blp.alt_response(200, schema=ReactionsOut, description="The caller had already reacted so.", success=True)
@blp.errors(403, 404, 409, 422)
def add_reaction(message_id, emoji):
    """React to a message with one emoji (again: no change, 200)."""
    reactions, created = reacting.react(message_id, current_principal(), emoji)
    db.session.commit()
    return reactions, 201 if created else 200


@blp.route(REACTION, methods=["DELETE"])
@blp.authenticated()
@blp.response(200, ReactionsOut, description="The reaction was taken back; the message's reactions.")
@blp.errors(404, 422)
def remove_reaction(message_id, emoji):
    """Take back one's reaction (404 `reaction_not_found` when there is none)."""
    reactions = reacting.unreact(message_id, current_principal(), emoji)
    db.session.commit()
    return reactions
