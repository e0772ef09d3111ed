"""In-app notifications: one row per recipient plus its live event; unread counts.

Written in the caller's transaction, so a notification exists exactly when
the change that caused it committed. A type the recipient turned off
(api/messaging/preferences.py) creates nothing.

Messages coalesce: a recipient has at most one unread `message` notification
per conversation (and one `mention`), which each new message updates - `count`
+ 1, the latest message's id, sender and preview, `updated_at` - instead of
adding a row; once it is read, the next message starts a new one. A new row
is announced with `notification:created`, an update with
`notification:updated` (the same data: the row as it is now), both in the
recipient's personal room. `notify_message` does it in a fixed number of
statements whatever the number of participants, all under the conversation
lock the send holds, so two sends never race for one recipient's row.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, and_, exists, func, insert, literal, not_, or_, select, update

from api.extensions import db
from api.messaging.mentions import is_one_of
from api.messaging.preferences import turned_off, wanted_by, wants
from api.messaging.schemas import notification_out
from api.outbox import record
from shared import rooms
from shared.auth import Principal
from shared.models import Conversation, Message, Notification, Participant, Timestamp

# Notifications about a conversation's messages: coalesced, their body a preview.
COALESCED = ("message", "mention")
PREVIEW_CHARS = 140


def preview(body: str | None) -> str | None:
    """The start of a message as a notification shows it (None for a deleted message)."""
    if not body:
        return None
    text = " ".join(body.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "\u2026"


def notify(
    recipient: Principal,
    type_: str,
    title: str,
    body: str | None = None,
    link: str | None = None,
    data: dict | None = None,
    defer_event: bool = False,
    message_id: int | None = None,
    checked: bool = False,
) -> Notification | None:
    """Create a notification for `recipient` and its `notification:created` event,
    unless they turned its type off (then None).

    `defer_event`: the event row waits for the commit, to share one INSERT
    with the transaction's other deferred events (`record_event(flush=False)`).
    `message_id`: the message it is about; a `body` copied from it follows its edits and delete.
    `checked`: the caller already left out whoever turned the type off (`turned_off`).
    """
    if not checked and not wants(recipient, type_):
        return None
    row = Notification(
        recipient_role=recipient.role,
        recipient_id=recipient.id,
        type=type_,
        title=title[:200],
        body=body,
        link=link,
        data=data,
        message_id=message_id,
        count=1,
    )
    db.session.add(row)
    db.session.flush()
    record(rooms.personal(recipient), "notification:created", notification_out.dump(row), flush=not defer_event,
           message_id=message_id)
    return row


def notify_many(recipients: list[Principal], type_: str, title: str, **fields) -> int:
    """`notify` each of `recipients` who takes `type_` (one query for the preferences); how many."""
    off = turned_off(type_)
    wanted = [r for r in recipients if r not in off]
    for recipient in wanted:
        notify(recipient, type_, title, checked=True, **fields)
    return len(wanted)


def notify_message(conversation: Conversation, sender: Principal, message: Message,
                   mentions: list[Principal]) -> None:
    """Notify the other current participants of a new message, coalesced.

    Mentioned participants who take mentions get a `mention` notification,
    muted or not, and no `message` one; everyone else who is not muted and
    takes messages gets the `message` one. Two statements per type plus one
    read-back, whatever the number of participants.
    """
    now = message.created_at
    others = and_(
        Participant.conversation_id == conversation.id, Participant.left_at.is_(None),
        not_(and_(Participant.role == sender.role, Participant.principal_id == sender.id)),
    )
    mention_targets = and_(is_one_of(Participant.role, Participant.principal_id, mentions),
                           wanted_by(Participant.role, Participant.principal_id, "mention"))
    message_targets = and_(
        others, or_(Participant.muted_until.is_(None), Participant.muted_until <= now),
        wanted_by(Participant.role, Participant.principal_id, "message"), not_(mention_targets),
    )
    shown = {"body": preview(message.body), "link": f"/conversations/{conversation.id}", "message_id": message.id,
             "data": {"conversation_id": conversation.id, "message_id": message.id, "sender": sender.as_dict()},
             "updated_at": now}
    who = f"{sender.role} {sender.id}"
    _coalesce(conversation.id, "message", message_targets, {**shown, "title": f"New message from {who}"})
    if mentions:
        _coalesce(conversation.id, "mention", and_(others, mention_targets),
                  {**shown, "title": f"{who} mentioned you"})
    _announce(conversation.id, message.id)


def _unread_of(conversation_id: int, type_: str):
    return and_(Notification.conversation_id == conversation_id, Notification.type == type_,
                Notification.read_at.is_(None))


def _coalesce(conversation_id: int, type_: str, targets, shown: dict) -> None:
    """Bump the unread row of every target who has one, then add a row for every target who has none."""
    target_is_recipient = and_(Participant.role == Notification.recipient_role,
                               Participant.principal_id == Notification.recipient_id)
    db.session.execute(
        update(Notification)
        .where(_unread_of(conversation_id, type_), exists().where(target_is_recipient, targets))
        .values(count=Notification.count + 1, **shown)
        .execution_options(synchronize_session=False)
    )
    types = {"data": JSON(), "updated_at": Timestamp}
    columns = ["recipient_role", "recipient_id", "type", "conversation_id", "count", "created_at", *shown]
    rows = select(
        Participant.role, Participant.principal_id, literal(type_), literal(conversation_id), literal(1),
        literal(shown["updated_at"], Timestamp),
        *(literal(value, types.get(name)) for name, value in shown.items()),
    ).where(targets, ~exists().where(_unread_of(conversation_id, type_), target_is_recipient))
    db.session.execute(insert(Notification).from_select(columns, rows))


def _announce(conversation_id: int, message_id: int) -> None:
    """One event per notification the message created or bumped (a new row has count 1)."""
    rows = db.session.execute(
        select(Notification).where(Notification.message_id == message_id,
                                   Notification.conversation_id == conversation_id,
                                   Notification.type.in_(COALESCED))
        .execution_options(populate_existing=True)
    ).scalars()
    for row in rows:
        type_ = "notification:created" if row.count == 1 else "notification:updated"
        record(rooms.personal(Principal(row.recipient_role, row.recipient_id)), type_, notification_out.dump(row),
               flush=False, message_id=message_id)


def read_conversation(reader: Principal, conversation_id: int, up_to: int, at: dt.datetime) -> None:
    """The reader has read the conversation up to message `up_to`: their coalesced
    notifications of it whose latest message is no later are read too."""
    db.session.execute(
        update(Notification)
        .where(*mine(reader), Notification.conversation_id == conversation_id, Notification.read_at.is_(None),
               Notification.type.in_(COALESCED), Notification.message_id <= up_to)
        .values(read_at=at)
        .execution_options(synchronize_session=False)
    )


def mine(principal: Principal) -> tuple:
    """SQL conditions: notifications addressed to `principal`."""
    return (Notification.recipient_role == principal.role, Notification.recipient_id == principal.id)


def unread_notifications(principal: Principal) -> int:
    query = select(func.count()).select_from(Notification).where(*mine(principal), Notification.read_at.is_(None))
    return db.session.execute(query).scalar_one()
