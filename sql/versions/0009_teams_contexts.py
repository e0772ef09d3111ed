"""Team conversations, context threads, read-only broadcast recipients.

- `teams` (one row per team id of the site, the lock a roster change takes)
  and `team_members` (the member list `PUT /teams/{id}/members` sends).
- `conversations.team_id`: the team whose roster a `team` conversation
  follows; `context_kind` / `context_id`: what a group or team conversation is
  about (`exercise` 12); `context_key`: unique, so there is one conversation
  per context and type (and team).
- `participants.read_only`: a broadcast's recipients read it, mark it read,
  and cannot post; the other participants do not see them.

Broadcasts sent before this revision get their recipients as read-only
participants (from their notifications; one already read counts as read).

Revision ID: 0009
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009"
down_revision = "0005"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        **TABLE_OPTIONS,
    )
    op.create_table(
        "team_members",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id", name="fk_team_members_team"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("added_at", Timestamp, nullable=False),
        sa.UniqueConstraint("team_id", "role", "principal_id", name="uq_team_members_member"),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_team_members_principal", "team_members", ["role", "principal_id", "team_id"])
    # Plain ADD COLUMNs: SQLite's batch mode would recreate `conversations`,
    # which the foreign keys of messages and participants refuse.
    for column in _conversation_columns():
        op.add_column("conversations", column)
    op.create_index("uq_conversations_context_key", "conversations", ["context_key"], unique=True)
    op.create_index("ix_conversations_team", "conversations", ["team_id"])
    op.create_index("ix_conversations_context", "conversations", ["context_kind", "context_id"])
    op.add_column("participants", sa.Column("read_only", sa.Boolean(), nullable=False, server_default=sa.false()))
    _broadcast_recipients_join()


def _conversation_columns() -> list[sa.Column]:
    return [
        sa.Column("team_id", sa.Integer()),
        sa.Column("context_kind", sa.String(32)),
        sa.Column("context_id", sa.BigInteger()),
        sa.Column("context_key", sa.String(100)),
    ]


def _broadcast_recipients_join() -> None:
    op.execute(
        "INSERT INTO participants (conversation_id, role, principal_id, joined_at, read_only,"
        " last_read_message_id, last_read_at)"
        " SELECT m.conversation_id, n.recipient_role, n.recipient_id, n.created_at, 1,"
        " CASE WHEN n.read_at IS NULL THEN NULL ELSE m.id END, n.read_at"
        " FROM notifications n JOIN messages m ON m.id = n.message_id"
        " JOIN conversations c ON c.id = m.conversation_id AND c.type = 'broadcast'"
        " WHERE n.type = 'broadcast' AND NOT EXISTS (SELECT 1 FROM participants p"
        " WHERE p.conversation_id = m.conversation_id AND p.role = n.recipient_role"
        " AND p.principal_id = n.recipient_id)"
    )


def downgrade() -> None:
    op.execute("DELETE FROM participants WHERE read_only = 1")
    op.drop_column("participants", "read_only")
    for name in ("ix_conversations_context", "ix_conversations_team", "uq_conversations_context_key"):
        op.drop_index(name, "conversations")
    for column in _conversation_columns():
        op.drop_column("conversations", column.name)
    op.drop_table("team_members")
    op.drop_table("teams")
