"""Live dashboards: who watches a dashboard, the figures last sent, the log cursor.

- `dashboard_watchers`: one row per principal who opened GET /dashboard: the
  figures they were last given, when they last looked, and `due_at` (set by the
  first change since the last update, plus the debounce; NULL = up to date).
- `dashboard_cursor`: how far the dashboard job has read the event log.
- `ix_messages_created`: messages by time, for the admin figures of a period.

Revision ID: 0007
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0007"
down_revision = "0008"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade() -> None:
    op.create_table(
        "dashboard_watchers",
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("principal_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("viewed_at", Timestamp, nullable=False),
        sa.Column("due_at", Timestamp),
        sa.Column("updated_at", Timestamp, nullable=False),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_dashboard_watchers_due", "dashboard_watchers", ["due_at"])
    op.create_table(
        "dashboard_cursor",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_messages_created", "messages", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_created", table_name="messages")
    op.drop_table("dashboard_cursor")
    op.drop_table("dashboard_watchers")
