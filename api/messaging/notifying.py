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
import functools

from sqlalchemy import and_, bindparam, func, not_, select, update
from sqlalchemy.orm import aliased

from api.extensions import db
from api.messaging.preferences import turned_off, wants
from api.messaging.schemas import notification_out
from api.outbox import record
from shared import rooms
from shared.auth import Principal
from shared.db import insert_rows
from shared.models import Conversation, Message, Notification, NotificationPreference, Participant

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
    takes messages gets the `message` one. One read of the targets with their
    unread rows, then at most one UPDATE and one INSERT per type, whatever the
    number of participants; the events are made from what was written, not
    read back. Plain INSERTs, not INSERT ... SELECT: under InnoDB's default
    auto-increment lock mode an INSERT ... SELECT holds a table lock for the
    whole statement, and concurrent sends deadlocked on it (MariaDB reports
    that as error 1467).
    """
    now = message.created_at
    mentioned = set(mentions)
    shown = {"body": preview(message.body), "link": f"/conversations/{conversation.id}", "message_id": message.id,
             "data": {"conversation_id": conversation.id, "message_id": message.id, "sender": sender.as_dict()},
             "updated_at": now}
    who = f"{sender.role} {sender.id}"
    titles = {"message": f"New message from {who}", "mention": f"{who} mentioned you"}
    conn = db.session.connection()
    rows = conn.execute(_targets_statement(), {"conversation_id": conversation.id, "sender_role": sender.role,
                                               "sender_id": sender.id}).all()
    bumped: dict[str, list] = {"message": [], "mention": []}
    added: dict[str, list[Principal]] = {"message": [], "mention": []}
    for row in rows:
        recipient = Principal(row.role, row.principal_id)
        if recipient in mentioned and row.mention_on is not False:
            type_, unread = "mention", (row.mention_id, row.mention_count, row.mention_created_at)
        elif (row.muted_until is None or row.muted_until <= now) and row.message_on is not False:
            type_, unread = "message", (row.message_id, row.message_count, row.message_created_at)
        else:
            continue
        if unread[0] is None:
            added[type_].append(recipient)
        else:
            bumped[type_].append((recipient, *unread))
    events = []
    for type_ in COALESCED:
        fields = {**shown, "title": titles[type_][:200], "type": type_, "read_at": None}
        if bumped[type_]:
            conn.execute(_bump_statement(), {**shown, "title": fields["title"],
                                             "ids": [unread_id for _, unread_id, _, _ in bumped[type_]]})
            events += [(recipient, "notification:updated", {**fields, "id": unread_id, "count": count + 1,
                                                            "created_at": created_at})
                       for recipient, unread_id, count, created_at in bumped[type_]]
        if added[type_]:
            base = {**shown, "title": fields["title"], "type": type_, "conversation_id": conversation.id, "count": 1,
                    "created_at": now}
            values = [{**base, "recipient_role": r.role, "recipient_id": r.id} for r in added[type_]]
            ids = insert_rows(conn, Notification.__table__, values)
            events += [(recipient, "notification:created", {**fields, "id": new_id, "count": 1, "created_at": now})
                       for recipient, new_id in zip(added[type_], ids, strict=True)]
    for recipient, type_, row in events:
        record(rooms.personal(recipient), type_, notification_out.dump(row), flush=False, message_id=message.id)


@functools.cache
def _targets_statement():
    """The other current participants of a conversation with what decides their
    notification: muted until, the message and mention switches (NULL: no
    preferences stored, so on), and their unread `message` and `mention` rows
    of it (at most one each: written under the conversation lock). Built once."""
    unread_message, unread_mention = aliased(Notification), aliased(Notification)
    pref = NotificationPreference

    def unread(row, type_: str):
        return and_(row.conversation_id == bindparam("conversation_id"), row.type == type_, row.read_at.is_(None),
                    row.recipient_role == Participant.role, row.recipient_id == Participant.principal_id)

    return (
        select(Participant.role, Participant.principal_id, Participant.muted_until,
               pref.message_on, pref.mention_on,
               unread_message.id.label("message_id"), unread_message.count.label("message_count"),
               unread_message.created_at.label("message_created_at"),
               unread_mention.id.label("mention_id"), unread_mention.count.label("mention_count"),
               unread_mention.created_at.label("mention_created_at"))
        .outerjoin(pref, and_(pref.recipient_role == Participant.role, pref.recipient_id == Participant.principal_id))
        .outerjoin(unread_message, unread(unread_message, "message"))
        .outerjoin(unread_mention, unread(unread_mention, "mention"))
        .where(Participant.conversation_id == bindparam("conversation_id"), Participant.left_at.is_(None),
               not_(and_(Participant.role == bindparam("sender_role"),
                         Participant.principal_id == bindparam("sender_id"))))
    )


@functools.cache
def _bump_statement():
    """A new message in unread notifications `ids`: count + 1, the latest message shown."""
    return (
        update(Notification)
        .where(Notification.id.in_(bindparam("ids", expanding=True)))
        .values(count=Notification.count + 1, **{name: bindparam(name) for name in SHOWN})
    )


# What a coalesced notification shows of its latest message.
SHOWN = ("title", "body", "link", "message_id", "data", "updated_at")


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
