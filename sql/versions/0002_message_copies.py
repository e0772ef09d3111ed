"""Message copies and former members: `events.message_id`, `notifications.message_id`,
`participants.left_seq`, and `events.data` as MEDIUMTEXT on MySQL.

- `events.message_id` / `notifications.message_id` name the message whose
  text a row copies, so an edit or a delete finds and rewrites every copy
  (api/messaging/redaction.py) through an index.
- `participants.left_seq` is the room's `seq` when a member left: a former
  member sees the conversation as it was then.
- A body within MESSAGE_MAX_CHARS can pass 64 KB once escaped as JSON
  (`\\u001f` is 6 bytes for one character), so `events.data` becomes
  MEDIUMTEXT (16 MB) on MySQL/MariaDB; SQLite's TEXT has no such limit.

Rows written before this revision are brought along: message events get
their `message_id` from their data, deleted messages lose their body (in the
table and in their events), edited ones keep only the current text in their
events, and former members get `left_seq` = the room's seq now (the seq when
they left is not known; it stays frozen from here on).

Revision ID: 0002
Revises: 0001
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MESSAGE_EVENTS = ("message:created", "message:updated", "message:deleted")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.add_column("events", sa.Column("message_id", sa.BigInteger()))
        op.add_column("notifications", sa.Column("message_id", sa.BigInteger()))
        op.add_column("participants", sa.Column("left_seq", sa.BigInteger()))
        op.create_index("ix_events_message", "events", ["message_id"])
        op.create_index("ix_notifications_message", "notifications", ["message_id"])
    else:
        # One ALTER per table: each rebuilds its table once.
        op.execute(
            "ALTER TABLE events MODIFY data MEDIUMTEXT NOT NULL, ADD COLUMN message_id BIGINT NULL,"
            " ADD INDEX ix_events_message (message_id)"
        )
        op.execute(
            "ALTER TABLE notifications ADD COLUMN message_id BIGINT NULL,"
            " ADD INDEX ix_notifications_message (message_id)"
        )
        op.execute("ALTER TABLE participants ADD COLUMN left_seq BIGINT NULL")
    _bring_rows_along()


def _bring_rows_along() -> None:
    bind = op.get_bind()
    bind.execute(sa.text(
        "UPDATE participants SET left_seq = (SELECT last_seq FROM conversations c"
        " WHERE c.id = participants.conversation_id) WHERE left_at IS NOT NULL"
    ))
    bind.execute(sa.text("UPDATE messages SET body = '' WHERE deleted_at IS NOT NULL"))
    events = bind.execute(
        sa.text("SELECT id, data FROM events WHERE type IN :types").bindparams(sa.bindparam("types", expanding=True)),
        {"types": list(MESSAGE_EVENTS)},
    ).all()
    by_message: dict[int, list[tuple[int, dict]]] = {}
    for event_id, data in events:
        payload = json.loads(data)
        if isinstance(payload.get("id"), int):
            by_message.setdefault(payload["id"], []).append((event_id, payload))
    for message_id, rows in by_message.items():
        current = bind.execute(
            sa.text("SELECT body, deleted_at FROM messages WHERE id = :id"), {"id": message_id}
        ).first()
        for event_id, payload in rows:
            if current is not None:
                payload["body"] = None if current.deleted_at is not None else current.body
            bind.execute(
                sa.text("UPDATE events SET message_id = :mid, data = :data WHERE id = :id"),
                {"mid": message_id, "id": event_id,
                 "data": json.dumps(payload, separators=(",", ":"), ensure_ascii=False)},
            )


def downgrade() -> None:
    """Drops the columns (the rewritten rows stay rewritten); MySQL refuses if
    an event's data no longer fits TEXT."""
    for table, column, index in (("events", "message_id", "ix_events_message"),
                                 ("notifications", "message_id", "ix_notifications_message"),
                                 ("participants", "left_seq", None)):
        with op.batch_alter_table(table) as batch:
            if index:
                batch.drop_index(index)
            batch.drop_column(column)
    if op.get_bind().dialect.name != "sqlite":
        op.execute("ALTER TABLE events MODIFY data TEXT NOT NULL")
