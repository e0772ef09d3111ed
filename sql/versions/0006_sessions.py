"""Sessions, their attendees and reminders, the per-host lock rows, calendar feed tokens.

- `sessions`: a meeting with a host (`host_role`, `host_id`), for a
  relationship, a list of attendees or a group conversation; times in UTC;
  `status` scheduled|cancelled|completed; `sequence` for calendar apps.
- `session_attendees`: one row per attendee with their `attendance`.
- `session_reminders`: one row per session and reminder offset; the periodic
  job claims a row by setting `sent_at`.
- `session_hosts`: a row per host, locked while a session of theirs is placed
  (no two overlapping sessions, under concurrency).
- `calendar_feeds`: the SHA-256 of each principal's calendar feed token.

Revision ID: 0006
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006"
down_revision = "0010"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("host_role", sa.String(16), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("relationship_id", sa.Integer(),
                  sa.ForeignKey("relationships.id", name="fk_sessions_relationship")),
        sa.Column("conversation_id", sa.Integer(),
                  sa.ForeignKey("conversations.id", name="fk_sessions_conversation")),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("location", sa.String(500)),
        sa.Column("starts_at", Timestamp, nullable=False),
        sa.Column("ends_at", Timestamp, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cancel_reason", sa.Text()),
        sa.Column("cancelled_at", Timestamp),
        sa.Column("completed_at", Timestamp),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_sessions_host_time", "sessions", ["host_role", "host_id", "starts_at"])
    op.create_index("ix_sessions_starts", "sessions", ["starts_at", "id"])
    op.create_index("ix_sessions_relationship", "sessions", ["relationship_id", "status"])
    op.create_index("ix_sessions_conversation", "sessions", ["conversation_id"])
    op.create_table(
        "session_attendees",
        sa.Column("session_id", sa.Integer(),
                  sa.ForeignKey("sessions.id", name="fk_session_attendees_session"), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("principal_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("attendance", sa.String(16)),
        sa.Column("attendance_at", Timestamp),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_session_attendees_principal", "session_attendees", ["role", "principal_id", "session_id"])
    op.create_table(
        "session_reminders",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.Integer(),
                  sa.ForeignKey("sessions.id", name="fk_session_reminders_session"), nullable=False),
        sa.Column("minutes_before", sa.Integer(), nullable=False),
        sa.Column("due_at", Timestamp, nullable=False),
        sa.Column("sent_at", Timestamp),
        sa.Column("outcome", sa.String(16)),
        sa.UniqueConstraint("session_id", "minutes_before", name="uq_session_reminders_offset"),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_session_reminders_due", "session_reminders", ["sent_at", "due_at"])
    op.create_table(
        "session_hosts",
        sa.Column("host_role", sa.String(16), primary_key=True),
        sa.Column("host_id", sa.Integer(), primary_key=True, autoincrement=False),
        **TABLE_OPTIONS,
    )
    op.create_table(
        "calendar_feeds",
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("principal_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_calendar_feeds_token"),
        **TABLE_OPTIONS,
    )


def downgrade() -> None:
    for table in ("calendar_feeds", "session_hosts", "session_reminders", "session_attendees", "sessions"):
        op.drop_table(table)
