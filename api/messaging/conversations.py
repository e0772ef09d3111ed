"""Conversations: list, open (direct/group), one in detail, members, read marker; the caller's
settings, leaving, deleting."""
from __future__ import annotations

from api.auth import current_principal
from api.docs import Blueprint
from api.extensions import db
from api.mentorship.lifecycle import retry_on_deadlock
from api.messaging import inbox, membership, participant_settings, redaction, rostering, sending
from api.messaging.schemas import (
    ConversationCreate,
    ConversationDeleted,
    ConversationDeleteQuery,
    ConversationListQuery,
    ConversationOut,
    ConversationPage,
    ConversationSettings,
    MarkerOut,
    MembersOut,
    ParticipantsAdd,
    ReadMarker,
)
from api.schemas import MEMBER_ROLES
from shared.auth import Principal
from shared.errors import NotFound

blp = Blueprint("conversations", __name__, url_prefix="/api/v1", description="Conversations and membership")
CONVERSATION = "/conversations/<int(max=9223372036854775807):conversation_id>"


@blp.route("/conversations")
@blp.authenticated()
@blp.arguments(ConversationListQuery, location="query")
@blp.response(200, ConversationPage)
def list_conversations(args):
    """The caller's conversations, pinned first, then newest activity, with last message and unread count."""
    return inbox.list_conversations(current_principal(), args["limit"], args.get("before"), args["archived"],
                                    args.get("q"), args.get("context"))


@blp.route("/conversations", methods=["POST"])
@blp.authenticated()
@blp.arguments(ConversationCreate)
@blp.response(201, ConversationOut, description="A new conversation.")
@blp.alt_response(200, schema=ConversationOut, success=True,
                  description="The existing conversation: the pair's direct one, or the one of that context.")
@blp.errors(403, 409)
def create_conversation(args):
    """Open a direct conversation, a group or a team conversation; 200 with the existing one."""
    me = current_principal()
    if args["type"] == "direct":
        conversation, created = membership.open_direct(me, args["participants"])
    elif args["type"] == "group":
        conversation, created = membership.open_group(me, args.get("title"), args["participants"],
                                                      args.get("context"))
    else:
        conversation, created = rostering.open_team(me, args.get("team_id"), args.get("context"), args.get("title"))
    db.session.commit()
    return inbox.describe_for(conversation.id, me), 201 if created else 200


@blp.route(CONVERSATION)
@blp.authenticated()
@blp.response(200, ConversationOut)
@blp.errors(404)
def get_conversation(conversation_id):
    """One conversation with its participants and their read markers."""
    return inbox.describe_one(conversation_id, current_principal())


@blp.route(CONVERSATION + "/participants", methods=["POST"])
@blp.authenticated()
@blp.arguments(ParticipantsAdd)
@blp.response(200, MembersOut)
@blp.errors(403, 404, 409)
def add_participants(args, conversation_id):
    """Add members to a group (owner or admin)."""
    membership.add_members(conversation_id, current_principal(), args["participants"])
    db.session.commit()
    return inbox.members_of(conversation_id)


@blp.route(CONVERSATION + "/participants/<role>/<int(max=2147483647):principal_id>", methods=["DELETE"])
@blp.authenticated()
@blp.response(200, MembersOut)
@blp.errors(403, 404, 409)
def remove_participant(conversation_id, role, principal_id):
    """Remove a member from a group (owner or admin; anyone may leave)."""
    if role not in MEMBER_ROLES:
        raise NotFound("no such participant", code="participant_not_found")
    membership.remove_member(conversation_id, current_principal(), Principal(role, principal_id))
    db.session.commit()
    return inbox.members_of(conversation_id)


@blp.route(CONVERSATION + "/read", methods=["POST"])
@blp.authenticated()
@blp.arguments(ReadMarker)
@blp.response(200, MarkerOut)
@blp.errors(404)
# Clearing the reader's notifications can deadlock on InnoDB's gap locks with a
# message sent meanwhile in another of their conversations; run it again.
@retry_on_deadlock
def mark_read(args, conversation_id):
    """Move the caller's read marker forward to `message_id`."""
    marker = sending.mark_read(conversation_id, current_principal(), args["message_id"])
    db.session.commit()
    return marker


@blp.route(CONVERSATION + "/settings", methods=["PATCH"])
@blp.authenticated()
@blp.arguments(ConversationSettings)
@blp.response(200, ConversationOut)
@blp.errors(404)
def change_settings(args, conversation_id):
    """The caller's own `archived`, `muted_until`, `pinned` (seen by nobody else)."""
    participant_settings.change(conversation_id, current_principal(), args)
    db.session.commit()
    return inbox.describe_one(conversation_id, current_principal())


@blp.route(CONVERSATION + "/leave", methods=["POST"])
@blp.authenticated()
@blp.response(200, ConversationOut, description="The conversation as the caller now sees it: as a former member.")
@blp.errors(404, 409)
def leave_conversation(conversation_id):
    """Leave a group (409 `cannot_leave` for direct and mentorship conversations)."""
    membership.leave(conversation_id, current_principal())
    db.session.commit()
    return inbox.describe_one(conversation_id, current_principal())


@blp.route(CONVERSATION, methods=["DELETE"])
@blp.authenticated()
@blp.arguments(ConversationDeleteQuery, location="query")
@blp.response(200, ConversationDeleted)
@blp.errors(404)
def delete_conversation(args, conversation_id):
    """Delete for me (`?for=me`, the default: hide it and its history so far), or for everyone (admins)."""
    me = current_principal()
    if args["scope"] == "everyone":
        redaction.erase_conversation(conversation_id, me)
    else:
        participant_settings.clear_for_me(conversation_id, me)
    db.session.commit()
    return {"conversation_id": conversation_id, "scope": args["scope"], "deleted_by": me.as_dict()}
