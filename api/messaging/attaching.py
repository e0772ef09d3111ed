"""Attachments and messages: claiming uploads for a message being sent, who
may fetch a file, removing a deleted message's files, sweeping uploads never
sent, and keeping storage in step with the transaction.

Files change outside the database, so they follow its outcome: a file
written for a row that is rolled back is removed, and files of deleted rows
are removed only once the delete has committed (`files_written`,
`delete_after_commit`).
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Iterable

from flask import current_app
from sqlalchemy import and_, delete, event, select, update
from sqlalchemy.orm.attributes import set_committed_value

from api import periodic
from api.auth import app_config
from api.extensions import db
from api.messaging.access import can_see
from api.schemas import MAX_ID
from shared.auth import Principal
from shared.errors import Invalid, NotFound
from shared.models import Attachment, Message, Participant

log = logging.getLogger(__name__)
MAX_PER_MESSAGE = 10
SWEEP_BATCH = 500
_WRITTEN, _TO_DELETE = "attachments_written", "attachments_to_delete"


def keys_of(attachments: Iterable[Attachment]) -> list[str]:
    return [key for a in attachments for key in (a.storage_key, a.thumbnail_key) if key]


def files_written(keys: list[str]) -> None:
    """These files belong to rows of the current transaction: removed if it rolls back."""
    db.session.info.setdefault(_WRITTEN, []).extend(keys)


def delete_after_commit(keys: list[str]) -> None:
    db.session.info.setdefault(_TO_DELETE, []).extend(keys)


def _remove(keys: list[str]) -> None:
    try:
        current_app.extensions["storage"].delete(keys)
    except Exception:  # noqa: BLE001 - the database has moved on; a leftover file is logged, not raised
        log.exception("could not remove %d attachment files: %s", len(keys), keys[:10])


@event.listens_for(db.session, "after_commit")
def _after_commit(session) -> None:
    session.info.pop(_WRITTEN, None)
    if keys := session.info.pop(_TO_DELETE, None):
        _remove(keys)


@event.listens_for(db.session, "after_rollback")
def _after_rollback(session) -> None:
    session.info.pop(_TO_DELETE, None)
    if keys := session.info.pop(_WRITTEN, None):
        _remove(keys)


def _refused(ids: list[int], bad: list[int], message: str, code: str) -> Invalid:
    return Invalid(message, code=code,
                   details={"attachment_ids": {i: [message] for i, value in enumerate(ids) if value in bad}})


def claim(sender: Principal, ids: list[int]) -> list[Attachment]:
    """The sender's own uploads not yet sent, locked until the send commits (so
    two sends cannot both take one); 422 naming any other id."""
    if not ids:
        return []
    rows = db.session.execute(
        select(Attachment).where(Attachment.id.in_(ids)).with_for_update()
    ).scalars().all()
    mine = {a.id: a for a in rows if a.uploader_role == sender.role and a.uploader_id == sender.id}
    if missing := [i for i in ids if i not in mine]:
        raise _refused(ids, missing, "not an upload of yours", "attachment_not_found")
    if sent := [i for i in ids if mine[i].message_id is not None]:
        raise _refused(ids, sent, "already sent with a message", "attachment_already_sent")
    return sorted(mine.values(), key=lambda a: a.id)


def attach(message: Message, files: list[Attachment]) -> None:
    """Give the (flushed) message its claimed files, in one UPDATE however many."""
    if files:
        db.session.execute(
            update(Attachment).where(Attachment.id.in_([a.id for a in files])).values(message_id=message.id)
        )
    set_committed_value(message, "attachments", files)


def visible_attachment(attachment_id: int, principal: Principal) -> Attachment:
    """An attachment the caller may fetch: their own upload before it is sent, then
    what participants who can read its message see (not once it is deleted); else 404."""
    row = db.session.execute(
        select(Attachment, Message.deleted_at, Participant)
        .outerjoin(Message, Message.id == Attachment.message_id)
        .outerjoin(Participant, and_(Participant.conversation_id == Message.conversation_id,
                                     Participant.role == principal.role, Participant.principal_id == principal.id))
        .where(Attachment.id == attachment_id)
    ).first() if attachment_id <= MAX_ID else None
    if row is not None:
        attachment, deleted_at, me = row
        if attachment.message_id is None:
            if (attachment.uploader_role, attachment.uploader_id) == (principal.role, principal.id):
                return attachment
        elif deleted_at is None and can_see(me, attachment.message_id):
            return attachment
    raise NotFound("attachment not found", code="attachment_not_found")


def discard(message: Message) -> None:
    """A deleted message's attachments: rows now, files once the delete commits."""
    if not message.attachments:
        return
    delete_after_commit(keys_of(message.attachments))
    db.session.execute(delete(Attachment).where(Attachment.message_id == message.id))
    set_committed_value(message, "attachments", [])


def sweep_unattached(now: dt.datetime, max_age: dt.timedelta | None = None) -> int:
    """Delete uploads never sent within `max_age` (default ATTACHMENT_UNATTACHED_SECONDS),
    in batches, each committed before its files go; the number removed.
    Rows are locked first, so a send taking one of them either wins or finds it gone."""
    cutoff = now - (max_age or dt.timedelta(seconds=app_config().attachment_unattached_seconds))
    removed = 0
    while True:
        batch = db.session.execute(
            select(Attachment).where(Attachment.message_id.is_(None), Attachment.created_at < cutoff)
            .order_by(Attachment.id).limit(SWEEP_BATCH).with_for_update()
        ).scalars().all()
        if batch:
            delete_after_commit(keys_of(batch))
            db.session.execute(delete(Attachment).where(Attachment.id.in_([a.id for a in batch])))
        db.session.commit()
        removed += len(batch)
        if len(batch) < SWEEP_BATCH:
            return removed


# Each API process sweeps now and then (the query is cheap, but not every tick).
SWEEP_EVERY = dt.timedelta(minutes=10)
_last_sweep: dt.datetime | None = None


@periodic.job("attachment_sweep")
def sweep_now_and_then(now: dt.datetime) -> int:
    """`sweep_unattached` at most every SWEEP_EVERY in this process; rows are
    locked as they go, so processes sweeping at once never remove a file twice."""
    global _last_sweep
    if _last_sweep is not None and now - _last_sweep < SWEEP_EVERY:
        return 0
    _last_sweep = now
    return sweep_unattached(now)
