"""Each participant's own view of a conversation: archive, mute, pin, delete-for-me.

Settings are private: they change the caller's participant row only and
their event (`conversation:updated`) goes to the caller's personal room.

- **Archived** (`archived_at`): out of the default list until a message comes
  after the archive, unless the participant was muted when it came. Read,
  not written, on each send: a conversation is archived while its last
  activity is not after `archived_at`, or came while muted (`muted_until`
  after it). A settings change first writes down what that rule says now
  (`archived_at` moves up to the last activity, or clears), so a later
  mute or unmute does not change an older message's effect.
- **Muted** (`muted_until`): no notifications until then; unread still counts.
- **Pinned** (`pinned_at`): first in the list.
- **Delete for me** (`cleared_message_id`, `cleared_seq`): the messages and
  room events up to now are gone for the caller; the conversation leaves
  their list until a later message brings it back with only the new history.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, or_

from api.extensions import db
from api.messaging.access import personal_event, visible_conversation
from api.messaging.schemas import deleted_out, settings_out
from shared.auth import Principal
from shared.errors import Invalid
from shared.models import Conversation, Message, Participant
from shared.timeutil import utcnow

LATEST_MUTE = dt.datetime(9999, 1, 1)  # below DATETIME's end, whatever the offset given


def archived_clause(activity):
    """SQL on `Participant`: archived, given the row's last activity (an expression)."""
    return and_(
        Participant.archived_at.is_not(None),
        or_(activity <= Participant.archived_at,
            and_(Participant.muted_until.is_not(None), Participant.muted_until > activity)),
    )


def is_archived(me: Participant, activity: dt.datetime) -> bool:
    """`archived_clause`, for one row."""
    if me.archived_at is None:
        return False
    return activity <= me.archived_at or (me.muted_until is not None and me.muted_until > activity)


def muted_until(me: Participant, now: dt.datetime | None = None) -> dt.datetime | None:
    """The end of the mute, while it lasts."""
    return me.muted_until if me.muted_until is not None and me.muted_until > (now or utcnow()) else None


def settings_of(conversation_id: int, me: Participant, activity: dt.datetime) -> dict:
    return {"conversation_id": conversation_id, "archived": is_archived(me, activity),
            "pinned": me.pinned_at is not None, "muted_until": muted_until(me)}


def _activity(conversation: Conversation, me: Participant) -> dt.datetime:
    """The conversation's last activity as the participant sees it (a former member: when they left)."""
    if me.left_at is None:
        return conversation.last_activity_at
    last = db.session.get(Message, me.left_message_id) if me.left_message_id else None
    return last.created_at if last is not None else conversation.created_at


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """An aware time as naive UTC (the database's), or 422 beyond what DATETIME holds."""
    if value is None:
        return None
    try:
        utc = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except OverflowError:
        utc = LATEST_MUTE
    if utc >= LATEST_MUTE:
        raise Invalid("muted_until is too far in the future", code="validation_failed",
                      details={"muted_until": ["must be before 9999-01-01"]})
    return utc


def change(conversation_id: int, principal: Principal, args: dict) -> None:
    """Apply `archived`, `pinned`, `muted_until` to the caller's row; `conversation:updated` when anything changed."""
    conversation, me = visible_conversation(conversation_id, principal)
    until = _utc(args.get("muted_until"))  # checked before anything changes
    activity, now = _activity(conversation, me), utcnow()
    before = settings_of(conversation.id, me, activity)
    # Write down what the rule says now, so a later mute or unmute leaves earlier messages' effect alone:
    # a message brought it back (no archive to resurrect), or every message so far came while muted.
    me.archived_at = max(me.archived_at, activity) if before["archived"] else None
    if "archived" in args:
        me.archived_at = (me.archived_at or now) if args["archived"] else None
    if "pinned" in args:
        me.pinned_at = (me.pinned_at or now) if args["pinned"] else None
    if "muted_until" in args:
        me.muted_until = until if until is not None and until > now else None
    after = settings_of(conversation.id, me, activity)
    if after != before:
        personal_event(principal, "conversation:updated", settings_out.dump(after))


def clear_for_me(conversation_id: int, principal: Principal) -> None:
    """Delete for me: hide what the conversation holds now, for the caller only."""
    conversation, me = visible_conversation(conversation_id, principal)
    last_id = conversation.last_message_id if me.left_at is None else me.left_message_id
    last_seq = conversation.last_seq if me.left_at is None or me.left_seq is None else me.left_seq
    me.cleared_message_id, me.cleared_seq = last_id or 0, last_seq or 0
    # It comes back as a new conversation would: in the main list, not pinned.
    me.archived_at = me.pinned_at = None
    data = {"conversation_id": conversation.id, "scope": "me", "deleted_by": principal.as_dict()}
    personal_event(principal, "conversation:deleted", deleted_out.dump(data))


def hidden_clause(visible_last_id):
    """SQL on `Participant`: cleared, and no message since (`visible_last_id`: an expression)."""
    return and_(Participant.cleared_message_id.is_not(None),
                func.coalesce(visible_last_id, 0) <= Participant.cleared_message_id)
