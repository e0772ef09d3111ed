"""Coalesced message notifications and notification preferences.

- `notifications.conversation_id`: the conversation whose messages a
  `message`/`mention` notification coalesces (one unread row per recipient,
  conversation and type), indexed with `read_at` and the recipient; `count` (messages in it)
  and `updated_at` (the latest one).
- `notification_preferences`: per principal, each notification type on or
  off, `push`, `email` (off|instant|hourly|daily|weekly) and quiet hours;
  no row = the defaults.

Rows written before this revision are brought along: `updated_at` =
`created_at`, `count` = 1, and a message notification gets its message's
conversation when it is read or the newest unread one of its recipient and
conversation (older unread duplicates stay as they are, uncoalesced).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}
# The unread rows of a conversation first (what a send updates), then whose (what it must not duplicate).
COALESCING_KEY = ["conversation_id", "read_at", "recipient_role", "recipient_id"]
TYPES = ("message", "mention", "relationship", "session", "broadcast")


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("conversation_id", sa.BigInteger()))
        batch.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("updated_at", Timestamp))
    op.execute("UPDATE notifications SET updated_at = created_at")
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("updated_at", existing_type=Timestamp, nullable=False)
        batch.alter_column("count", existing_type=sa.Integer(), server_default=None)
        batch.create_index("ix_notifications_conversation", COALESCING_KEY)
    _coalescing_keys_for_old_rows()
    op.create_table(
        "notification_preferences",
        sa.Column("recipient_role", sa.String(16), primary_key=True),
        sa.Column("recipient_id", sa.Integer(), primary_key=True, autoincrement=False),
        *[sa.Column(f"{type_}_on", sa.Boolean(), nullable=False) for type_ in TYPES],
        sa.Column("push", sa.Boolean(), nullable=False),
        sa.Column("email", sa.String(16), nullable=False),
        sa.Column("quiet_start", sa.String(5)),
        sa.Column("quiet_end", sa.String(5)),
        sa.Column("quiet_timezone", sa.String(64)),
        sa.Column("updated_at", Timestamp, nullable=False),
        **TABLE_OPTIONS,
    )


def _coalescing_keys_for_old_rows() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT n.id, n.recipient_role, n.recipient_id, m.conversation_id, n.read_at FROM notifications n"
        " JOIN messages m ON m.id = n.message_id WHERE n.type = 'message' ORDER BY n.id DESC"
    )).all()
    newest_unread, keys = set(), []
    for id_, role, recipient_id, conversation_id, read_at in rows:
        pair = (role, recipient_id, conversation_id)
        if read_at is None and pair in newest_unread:
            continue  # a second unread row of the pair would be bumped along with the first
        if read_at is None:
            newest_unread.add(pair)
        keys.append({"id": id_, "conversation_id": conversation_id})
    if keys:
        bind.execute(sa.text("UPDATE notifications SET conversation_id = :conversation_id WHERE id = :id"), keys)


def downgrade() -> None:
    op.drop_table("notification_preferences")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_index("ix_notifications_conversation")
        batch.drop_column("updated_at")
        batch.drop_column("count")
        batch.drop_column("conversation_id")
