"""Messages: list by id cursor, send (idempotent), edit, soft delete, search."""
from __future__ import annotations

from api.auth import current_principal
from api.docs import Blueprint
from api.extensions import db
from api.messaging import reacting, search, sending
from api.messaging.schemas import (
    MessageCreate,
    MessageEdit,
    MessageListQuery,
    MessageOut,
    MessagePage,
    SearchPage,
    SearchQuery,
)
from api.schemas import Augmented

blp = Blueprint("messages", __name__, url_prefix="/api/v1", description="Messages")
CONVERSATION_MESSAGES = "/conversations/<int(max=9223372036854775807):conversation_id>/messages"
MESSAGE = "/messages/<int(max=9223372036854775807):message_id>"


@blp.route(CONVERSATION_MESSAGES)
@blp.authenticated()
@blp.arguments(MessageListQuery, location="query")
@blp.response(200, MessagePage)
@blp.errors(404)
def list_messages(args, conversation_id):
    """A page of messages by id cursor (`before`/`after`, `limit` <= 100), newest first."""
    page = sending.list_messages(conversation_id, current_principal(), args)
    return {**page, "messages": reacting.with_reactions(page["messages"], current_principal())}


@blp.route(CONVERSATION_MESSAGES, methods=["POST"])
@blp.authenticated()
@blp.arguments(MessageCreate)
@blp.response(201, MessageOut, description="The message was sent.")
@blp.alt_response(200, schema=MessageOut, description="A retried `client_msg_id`: the original.", success=True)
@blp.errors(403, 404, 409, 429)
def send_message(args, conversation_id):
    """Send a message; a retried `client_msg_id` returns the original with 200."""
    message, created = sending.send(conversation_id, current_principal(), args)
    db.session.commit()
    if created:  # a message just written has no reactions: no query on the hot path
        return Augmented(message, reactions=[]), 201
    return reacting.with_reactions_one(message, current_principal()), 200


@blp.route(MESSAGE, methods=["PATCH"])
@blp.authenticated()
@blp.arguments(MessageEdit)
@blp.response(200, MessageOut)
@blp.errors(403, 404, 409)
def edit_message(args, message_id):
    """Edit one's own message within the edit window."""
    message = sending.edit(message_id, current_principal(), args["body"])
    db.session.commit()
    return reacting.with_reactions_one(message, current_principal())


@blp.route(MESSAGE, methods=["DELETE"])
@blp.authenticated()
@blp.response(200, MessageOut)
@blp.errors(403, 404)
def delete_message(message_id):
    """Soft-delete a message (sender or admin); its body is gone from then on."""
    message = sending.delete(message_id, current_principal())
    db.session.commit()
    return reacting.with_reactions_one(message, current_principal())


@blp.route("/messages/search")
@blp.authenticated()
@blp.arguments(SearchQuery, location="query")
@blp.response(200, SearchPage)
def search_messages(args):
    """Messages matching `q` in the caller's conversations, newest first."""
    found = search.search(current_principal(), args["q"], args["limit"], args.get("before"))
    return {**found, "messages": reacting.with_reactions(found["messages"], current_principal())}
