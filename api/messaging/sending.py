"""Sending, listing, editing and deleting messages; read markers.

Every change that emits a `conversation:<id>` event first row-locks the
conversation (`lock_conversation`), so writers in one conversation queue up:
message ids, `last_message_id` and the room's `seq` all advance in one order.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, exists, or_, select, update
from sqlalchemy import delete as delete_rows
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from api.auth import app_config
from api.extensions import db
from api.messaging import attaching
from api.messaging.access import (
    PAIR_TYPES,
    lock_conversation,
    lock_progress,
    member_of,
    open_relationship_with,
    pair_needs_relationship,
    personal_event,
    require_active,
    room_event,
    sender_of,
    visible_conversation,
    visible_message,
)
from api.messaging.mentions import mentioned
from api.messaging.notifying import notify_message, read_conversation
from api.messaging.redaction import rewrite_copies
from api.messaging.schemas import marker_out, message_out
from api.paging import fetch_page
from api.ratelimit import check_send_rate
from api.schemas import MAX_ID, Augmented
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.models import Block, Conversation, Message, Participant, Reaction
from shared.timeutil import utcnow

# Whitespace around a body does not count towards the limit, up to this much.
WHITESPACE_ALLOWANCE = 1000


def check_body(body: str, may_be_empty: bool = False) -> None:
    limit = app_config().message_max_chars
    trimmed = body.strip()
    if not trimmed and not may_be_empty:
        raise Invalid("the message is empty", code="body_empty", details={"body": ["must not be blank"]})
    if len(trimmed) > limit or len(body) > limit + WHITESPACE_ALLOWANCE:
        raise Invalid(
            f"the message is longer than {limit} characters", code="body_too_long",
            details={"body": [f"at most {limit} characters"]},
        )


def _by_client_id(sender: Principal, client_msg_id: str) -> Message | None:
    return db.session.execute(
        select(Message).where(
            Message.sender_role == sender.role, Message.sender_id == sender.id, Message.client_msg_id == client_msg_id
        )
    ).scalar_one_or_none()


def _original(message: Message, conversation_id: int) -> Message:
    if message.conversation_id != conversation_id:
        raise Conflict("this client_msg_id was used for another conversation", code="client_msg_id_reused")
    return message


@dataclass
class SendingContext:
    conversation: Conversation
    me: Participant
    peer: Principal | None  # the other member of a direct conversation
    blocked: bool  # a block stands between the direct pair
    closed: bool  # a mentor-student pair with no pending or active relationship (relationship_closed)


@functools.cache
def _context_statement(role: str):
    """The statement of `_sending_context` for senders of one role, built once
    (building it per send took about half of this function's time)."""
    sender_id = bindparam("sender_id")
    blocked = exists().where(or_(
        and_(Block.blocker_role == role, Block.blocker_id == sender_id,
             Block.blocked_role == Participant.role, Block.blocked_id == Participant.principal_id),
        and_(Block.blocker_role == Participant.role, Block.blocker_id == Participant.principal_id,
             Block.blocked_role == role, Block.blocked_id == sender_id),
    ))
    mine = and_(Participant.role == role, Participant.principal_id == sender_id)
    return (
        select(Participant, Conversation, blocked, open_relationship_with(role, sender_id))
        .join(Conversation, Conversation.id == Participant.conversation_id)
        .where(Participant.conversation_id == bindparam("conversation_id"), Conversation.deleted_at.is_(None),
               or_(mine, Conversation.type.in_(PAIR_TYPES)))
    )


def _sending_context(conversation_id: int, sender: Principal) -> SendingContext:
    """What `visible_conversation`, the direct peer (twice), `blocked_between` and
    the pair's relationships would read in six queries, in one. A direct or
    mentorship conversation returns every participant row, others only the
    sender's; each row says whether a block stands between it and the sender
    and whether they share a pending or active relationship."""
    if conversation_id > MAX_ID:
        raise NotFound("conversation not found", code="conversation_not_found")
    rows = db.session.execute(
        _context_statement(sender.role), {"sender_id": sender.id, "conversation_id": conversation_id}
    ).all()
    me = next((row for row in rows if member_of(row[0]) == sender), None)
    if me is None:
        raise NotFound("conversation not found", code="conversation_not_found")
    conversation = me[1]
    other = next((row for row in rows if member_of(row[0]) != sender), None)
    direct = other if conversation.type == "direct" else None
    closed = other is not None and pair_needs_relationship(sender, member_of(other[0])) and not other[3]
    return SendingContext(conversation, me[0], member_of(direct[0]) if direct else None, bool(direct and direct[2]),
                          closed)


def _refuse_read_only(context: SendingContext) -> None:
    if context.blocked:
        raise Forbidden("you cannot write in this conversation: one of you blocked the other", code="blocked")
    if context.closed:
        raise Forbidden("your relationship has closed: this conversation is read-only for you",
                        code="relationship_closed")


def writable_context(conversation_id: int, writer: Principal) -> SendingContext:
    """The conversation as `send` sees it, refusing whoever may not write there
    now (404 outsiders, 403 former members, blocked pairs, closed relationships)."""
    context = _sending_context(conversation_id, writer)
    require_active(context.me)
    _refuse_read_only(context)
    return context


def send(conversation_id: int, sender: Principal, args: dict) -> tuple[Message, bool]:
    """Post a message: (message, created?). A retried client_msg_id returns the original."""
    context = _sending_context(conversation_id, sender)
    conversation, me = context.conversation, context.me
    require_active(me)
    if me.read_only:
        raise Forbidden("you receive this broadcast; you cannot write in it", code="read_only_conversation")
    client_msg_id = args.get("client_msg_id")
    if client_msg_id and (found := _by_client_id(sender, client_msg_id)) is not None:
        return _original(found, conversation.id), False
    body = args.get("body", "")
    check_body(body, may_be_empty=bool(args.get("attachment_ids")))
    _refuse_read_only(context)
    check_send_rate(sender)
    lock_progress(conversation)
    parent = _parent(conversation.id, args.get("parent_id"))
    message = Message(
        conversation_id=conversation.id, sender_role=sender.role, sender_id=sender.id, body=body,
        parent_id=parent.id if parent else None, client_msg_id=client_msg_id, reply_count=0, attachments=[],
    )
    files = attaching.claim(sender, args.get("attachment_ids") or [])
    try:
        db.session.add(message)
        db.session.flush()
    except IntegrityError:
        # The same client_msg_id raced in from a retry: answer with the winner.
        db.session.rollback()
        return _original(_by_client_id(sender, client_msg_id), conversation_id), False
    attaching.attach(message, files)
    if parent is not None:
        parent.reply_count += 1
    # Others wrote since the sender last read: writing here reads them, so their notification clears.
    had_unread = (conversation.last_message_id or 0) > (me.last_read_message_id or 0)
    conversation.last_message_id, conversation.last_activity_at = message.id, message.created_at
    _advance_marker(me, message.id)
    # The events of a send wait for the commit and share one INSERT there.
    room_event(conversation, "message:created", message_out.dump(message), flush=False, message_id=message.id)
    _write_progress(conversation, me)
    notify_message(conversation, sender, message, mentioned(message.body, sender))
    if had_unread:
        read_conversation(sender, conversation.id, message.id, message.created_at)
    return message, True


@functools.cache
def _progress_statements():
    conversation = (
        update(Conversation).where(Conversation.id == bindparam("conversation_id"))
        .values(last_message_id=bindparam("message_id"), last_seq=bindparam("seq"),
                last_activity_at=bindparam("activity_at"))
    )
    marker = (
        update(Participant).where(Participant.id == bindparam("participant_id"))
        .values(last_read_message_id=bindparam("read_message_id"), last_read_at=bindparam("read_at"))
    )
    return conversation, marker


CONVERSATION_PROGRESS = ("last_message_id", "last_seq", "last_activity_at")
MARKER = ("last_read_message_id", "last_read_at")


def _write_progress(conversation: Conversation, me: Participant) -> None:
    """The conversation's and the sender's marker's new values, written now as
    two plain UPDATEs and marked committed on the objects, so the commit's
    flush has nothing left to do for them: the ORM's unit of work cost more
    than the statements themselves on the send path."""
    conversation_update, marker_update = _progress_statements()
    conn = db.session.connection()
    conn.execute(conversation_update, {"conversation_id": conversation.id, "message_id": conversation.last_message_id,
                                       "seq": conversation.last_seq, "activity_at": conversation.last_activity_at})
    conn.execute(marker_update, {"participant_id": me.id, "read_message_id": me.last_read_message_id,
                                 "read_at": me.last_read_at})
    for row, names in ((conversation, CONVERSATION_PROGRESS), (me, MARKER)):
        for name in names:
            set_committed_value(row, name, getattr(row, name))


def _parent(conversation_id: int, parent_id: int | None) -> Message | None:
    if parent_id is None:
        return None
    parent = db.session.get(Message, parent_id)
    if parent is None or parent.conversation_id != conversation_id:
        raise Invalid("parent_id is not a message of this conversation", code="parent_not_found",
                      details={"parent_id": ["not a message of this conversation"]})
    return parent


def _advance_marker(me: Participant, message_id: int) -> bool:
    if me.last_read_message_id is not None and me.last_read_message_id >= message_id:
        return False
    me.last_read_message_id, me.last_read_at = message_id, utcnow()
    return True


def list_messages(conversation_id: int, principal: Principal, args: dict) -> dict:
    """An id-cursor page, newest first; `after` alone pages forward (oldest first)."""
    _, me = visible_conversation(conversation_id, principal)
    query = select(Message).where(Message.conversation_id == conversation_id)
    if me.left_at is not None:
        query = query.where(Message.id <= (me.left_message_id or 0))
    if me.cleared_message_id is not None:
        query = query.where(Message.id > me.cleared_message_id)
    if args.get("before") is not None:
        query = query.where(Message.id < args["before"])
    if args.get("after") is not None:
        query = query.where(Message.id > args["after"])
    forward = args.get("after") is not None and args.get("before") is None
    rows, has_more = fetch_page(query.order_by(Message.id.asc() if forward else Message.id.desc()), args["limit"])
    return {"messages": rows, "has_more": has_more, "order": "asc" if forward else "desc"}


def edit(message_id: int, editor: Principal, body: str) -> Message:
    message, me = visible_message(message_id, editor)
    if sender_of(message) != editor:
        raise Forbidden("only the sender edits a message", code="not_sender")
    if me is None or me.left_at is not None:
        raise Forbidden("you are no longer a participant of this conversation", code="not_a_participant")
    if message.deleted_at is not None:
        raise Conflict("the message was deleted", code="message_deleted")
    window = app_config().message_edit_window_seconds
    if utcnow() - message.created_at > dt.timedelta(seconds=window):
        raise Forbidden(f"messages can be edited for {window} seconds after sending", code="edit_window_passed")
    check_body(body)
    conversation = lock_conversation(message.conversation_id)
    db.session.refresh(message)  # under the lock: a delete that committed meanwhile wins
    if message.deleted_at is not None:
        raise Conflict("the message was deleted", code="message_deleted")
    message.body, message.edited_at = body, utcnow()
    rewrite_copies(message)
    room_event(conversation, "message:updated", message_out.dump(message), message_id=message.id)
    return message


def delete(message_id: int, actor: Principal) -> Message:
    message, _ = visible_message(message_id, actor)
    if sender_of(message) != actor and not actor.is_admin:
        raise Forbidden("only the sender or an admin deletes a message", code="not_sender")
    if message.deleted_at is not None:
        return message
    conversation = lock_conversation(message.conversation_id)
    db.session.refresh(message)
    if message.deleted_at is not None:
        return message
    # The text leaves the database, not only the responses (NOT NULL: empty).
    message.deleted_at, message.body = utcnow(), ""
    db.session.execute(delete_rows(Reaction).where(Reaction.message_id == message.id))
    attaching.discard(message)  # the files go too, once this commits
    rewrite_copies(message)
    room_event(conversation, "message:deleted", message_out.dump(message), message_id=message.id)
    return message


def mark_read(conversation_id: int, reader: Principal, message_id: int) -> Augmented:
    """Move the reader's marker forward to `message_id` (never back)."""
    conversation, me = visible_conversation(conversation_id, reader)
    message = db.session.get(Message, message_id)
    if message is None or message.conversation_id != conversation.id or (
        me.left_at is not None and message_id > (me.left_message_id or 0)
    ):
        raise Invalid("message_id is not a message of this conversation", code="message_not_in_conversation",
                      details={"message_id": ["not a message of this conversation"]})
    if me.last_read_message_id is None or message_id > me.last_read_message_id:
        # A broadcast's recipient reads alone: no room event (others do not learn
        # who read), so no conversation lock either (thousands read at once).
        if not me.read_only:
            conversation = lock_conversation(conversation.id)
        db.session.refresh(me, with_for_update=True)
        if _advance_marker(me, message_id):
            marker = marker_out.dump(Augmented(me, principal=reader))
            if me.read_only:
                personal_event(reader, "conversation:read", marker)
            else:
                room_event(conversation, "conversation:read", marker)
            read_conversation(reader, conversation.id, message_id, me.last_read_at)
    return Augmented(me, principal=reader)

