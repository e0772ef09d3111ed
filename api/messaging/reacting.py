"""Reactions: one per emoji per person on a message, and their counts on every message payload.

An emoji is one emoji as Unicode defines it (the `emoji` package's data, with
ZWJ sequences, flags, keycaps and skin tones), stored fully qualified: `❤`
and `❤️` are one reaction. Counts for a page of messages cost one query
(`reactions_for`), never one per message. The events go to the whole room,
so they carry the emoji's new count and who reacted, never `mine`.
"""
from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable

import emoji as unicode_emoji
from sqlalchemy import and_, bindparam, case, delete, func, select

from api.extensions import db
from api.messaging.access import can_see, lock_conversation, room_event, visible_message
from api.messaging.schemas import reaction_event_out
from api.messaging.sending import writable_context
from api.schemas import Augmented
from shared.auth import Principal
from shared.errors import Conflict, Invalid, NotFound
from shared.models import Message, Reaction

MAX_CODE_POINTS = 32  # the longest emoji (a family with skin tones) has 10
MAX_PER_PERSON = 20  # distinct emoji one person puts on one message
VARIATION_SELECTOR = "\ufe0f"
# Each emoji without its variation selectors -> its fully qualified form.
_QUALIFIED = {
    e.replace(VARIATION_SELECTOR, ""): e
    for e, data in unicode_emoji.EMOJI_DATA.items()
    if data["status"] == unicode_emoji.STATUS["fully_qualified"]
}


def normalize_emoji(text: str) -> str:
    """The fully qualified emoji `text` names, or 422 `emoji_invalid`."""
    found = None
    if len(text) <= MAX_CODE_POINTS and unicode_emoji.is_emoji(text):
        found = _QUALIFIED.get(text.replace(VARIATION_SELECTOR, ""))
    if found is None:
        raise Invalid("not a single emoji", code="emoji_invalid", details={"emoji": ["must be exactly one emoji"]})
    return found


def reactions_for(message_ids: Iterable[int], reader: Principal) -> dict[int, list[dict]]:
    """Per message: `[{"emoji", "count", "mine"}]`, in the order each emoji was first used (one query)."""
    ids = list(set(message_ids))
    if not ids:
        return {}
    rows = db.session.execute(_reactions_statement(), {"ids": ids, "role": reader.role, "principal_id": reader.id})
    found: dict[int, list[dict]] = defaultdict(list)
    for message_id, emoji, count, is_mine in rows:
        found[message_id].append({"emoji": emoji, "count": count, "mine": bool(is_mine)})
    return found


@functools.cache
def _reactions_statement():
    """`reactions_for`' query, built once (every message list runs it)."""
    reader = and_(Reaction.role == bindparam("role"), Reaction.principal_id == bindparam("principal_id"))
    mine = func.max(case((reader, 1), else_=0))
    return (
        select(Reaction.message_id, Reaction.emoji, func.count(), mine)
        .where(Reaction.message_id.in_(bindparam("ids", expanding=True)))
        .group_by(Reaction.message_id, Reaction.emoji)
        .order_by(func.min(Reaction.id))
    )


def with_reactions(messages: list, reader: Principal) -> list[Augmented]:
    """Messages as MessageOut dumps them for this reader."""
    counts = reactions_for((m.id for m in messages), reader)
    return [Augmented(m, reactions=counts.get(m.id, [])) for m in messages]


def with_reactions_one(message: Message, reader: Principal) -> Augmented:
    return with_reactions([message], reader)[0]


def _count(message_id: int, emoji: str) -> int:
    return db.session.execute(
        select(func.count()).where(Reaction.message_id == message_id, Reaction.emoji == emoji)
    ).scalar_one()


def _mine(message_id: int, reactor: Principal, emoji: str | None = None):
    query = select(Reaction).where(
        Reaction.message_id == message_id, Reaction.role == reactor.role, Reaction.principal_id == reactor.id
    )
    return query if emoji is None else query.where(Reaction.emoji == emoji)


def _readable(message_id: int, reader: Principal) -> Message:
    """The message, for a participant who can read it (an admin's moderation view is not enough)."""
    message, me = visible_message(message_id, reader)
    if not can_see(me, message.id):
        raise NotFound("message not found", code="message_not_found")
    return message


def _announce(message: Message, type_: str, emoji: str, reactor: Principal, conversation) -> None:
    data = {"message_id": message.id, "conversation_id": message.conversation_id, "emoji": emoji,
            "count": _count(message.id, emoji), "principal": reactor.as_dict()}
    room_event(conversation, type_, reaction_event_out.dump(data))


def react(message_id: int, reactor: Principal, raw_emoji: str) -> tuple[dict, bool]:
    """Add the reactor's `emoji` to the message: (its reactions, created?); again = no change."""
    emoji = normalize_emoji(raw_emoji)
    message = _readable(message_id, reactor)
    writable_context(message.conversation_id, reactor)
    if message.deleted_at is not None:
        raise Conflict("the message was deleted", code="message_deleted")
    # Under the lock: two requests for one reaction cannot both insert it.
    conversation = lock_conversation(message.conversation_id)
    created = db.session.execute(_mine(message.id, reactor, emoji)).first() is None
    if created:
        if len(db.session.execute(_mine(message.id, reactor)).all()) >= MAX_PER_PERSON:
            raise Conflict(f"at most {MAX_PER_PERSON} different reactions per person on a message",
                           code="too_many_reactions")
        db.session.add(Reaction(message_id=message.id, role=reactor.role, principal_id=reactor.id, emoji=emoji))
        db.session.flush()
        _announce(message, "reaction:added", emoji, reactor, conversation)
    return {"message_id": message.id, "reactions": reactions_for([message.id], reactor).get(message.id, [])}, created


def unreact(message_id: int, reactor: Principal, raw_emoji: str) -> dict:
    """Take the reactor's `emoji` off the message; 404 `reaction_not_found` when it is not there.
    Former members and blocked pairs may still take back their own reactions."""
    emoji = normalize_emoji(raw_emoji)
    message = _readable(message_id, reactor)
    conversation = lock_conversation(message.conversation_id)
    removed = db.session.execute(
        delete(Reaction).where(
            Reaction.message_id == message.id, Reaction.role == reactor.role,
            Reaction.principal_id == reactor.id, Reaction.emoji == emoji,
        )
    ).rowcount
    if not removed:
        raise NotFound("you have not reacted with this emoji", code="reaction_not_found")
    _announce(message, "reaction:removed", emoji, reactor, conversation)
    return {"message_id": message.id, "reactions": reactions_for([message.id], reactor).get(message.id, [])}
