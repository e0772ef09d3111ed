"""Conversations: list, open (direct/group), one in detail, members, read marker."""
from __future__ import annotations

from flask_smorest import Blueprint

from api.auth import authenticated, current_principal
from api.extensions import db
from api.messaging import inbox, membership, sending
from api.messaging.schemas import ConversationCreate, ConversationListQuery, ParticipantsAdd, ReadMarker
from shared.auth import Principal
from shared.errors import NotFound

blp = Blueprint("conversations", __name__, url_prefix="/api/v1", description="Conversations and membership")
CONVERSATION = "/conversations/<int(max=9223372036854775807):conversation_id>"


@blp.route("/conversations")
@authenticated
@blp.arguments(ConversationListQuery, location="query")
@blp.response(200)
def list_conversations(args):
    """The caller's conversations, newest activity first, with last message and unread count."""
    return inbox.list_conversations(current_principal(), args["limit"], args.get("before"))


@blp.route("/conversations", methods=["POST"])
@authenticated
@blp.arguments(ConversationCreate)
@blp.response(201)
def create_conversation(args):
    """Open a direct conversation (200 with the existing one) or create a group."""
    me = current_principal()
    if args["type"] == "direct":
        conversation, created = membership.open_direct(me, args["participants"])
    else:
        conversation, created = membership.open_group(me, args.get("title"), args["participants"]), True
    db.session.commit()
    return inbox.describe_one(conversation.id, me), 201 if created else 200


@blp.route(CONVERSATION)
@authenticated
@blp.response(200)
def get_conversation(conversation_id):
    """One conversation with its participants and their read markers."""
    return inbox.describe_one(conversation_id, current_principal())


@blp.route(CONVERSATION + "/participants", methods=["POST"])
@authenticated
@blp.arguments(ParticipantsAdd)
@blp.response(200)
def add_participants(args, conversation_id):
    """Add members to a group (owner or admin)."""
    membership.add_members(conversation_id, current_principal(), args["participants"])
    db.session.commit()
    return inbox.members_of(conversation_id)


@blp.route(CONVERSATION + "/participants/<role>/<int(max=2147483647):principal_id>", methods=["DELETE"])
@authenticated
@blp.response(200)
def remove_participant(conversation_id, role, principal_id):
    """Remove a member from a group (owner or admin; anyone may leave)."""
    if role not in ("mentor", "student", "admin"):
        raise NotFound("no such participant", code="participant_not_found")
    membership.remove_member(conversation_id, current_principal(), Principal(role, principal_id))
    db.session.commit()
    return inbox.members_of(conversation_id)


@blp.route(CONVERSATION + "/read", methods=["POST"])
@authenticated
@blp.arguments(ReadMarker)
@blp.response(200)
def mark_read(args, conversation_id):
    """Move the caller's read marker forward to `message_id`."""
    marker = sending.mark_read(conversation_id, current_principal(), args["message_id"])
    db.session.commit()
    return marker
