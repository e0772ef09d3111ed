"""Reactions and each participant's own view of a conversation.

- `reactions`: one row per message, principal and emoji. The emoji column
  compares bytes (`utf8mb4_bin`): under utf8mb4_unicode_ci every emoji
  outside the BMP weighs the same, so the unique key would take 😀 and 😂
  for one reaction.
- `participants.archived_at`, `pinned_at`: the participant's settings (NULL =
  not archived / not pinned). An archive stands until a message comes after
  it, unless the participant was muted when that message came.
- `participants.cleared_message_id`, `cleared_seq`: delete-for-me, the last
  message and room seq the participant cleared (NULL = never cleared).
- `conversations.deleted_at`: an admin deleted it for everyone.

Revision ID: 0008
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Emoji = sa.String(64).with_variant(mysql.VARCHAR(64, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb")
TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def _participant_columns() -> list[sa.Column]:
    return [
        sa.Column("archived_at", Timestamp),
        sa.Column("pinned_at", Timestamp),
        sa.Column("cleared_message_id", sa.BigInteger()),
        sa.Column("cleared_seq", sa.BigInteger()),
    ]


def upgrade() -> None:
    with op.batch_alter_table("participants") as batch:
        for column in _participant_columns():
            batch.add_column(column)
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("deleted_at", Timestamp))
    op.create_table(
        "reactions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("message_id", BigId, sa.ForeignKey("messages.id", name="fk_reactions_message"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("emoji", Emoji, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.UniqueConstraint("message_id", "role", "principal_id", "emoji", name="uq_reactions_one"),
        **TABLE_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table("reactions")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("deleted_at")
    with op.batch_alter_table("participants") as batch:
        for column in _participant_columns():
            batch.drop_column(column.name)
