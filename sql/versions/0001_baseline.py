"""Baseline: the schema of sql/001_initial.sql.

On MySQL/MariaDB this runs sql/001_initial.sql itself, the DDL reviewed for
production (tests/test_schema_drift.py compares the result with the models).
On SQLite it creates the same tables with the operations below, written out
as the schema stood at 001: never edit them, and never call the live models'
`create_all` here; later revisions change the schema for both backends.

Revision ID: 0001
Revises:
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

from shared.migrate import split_statements

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQL_FILE = Path(__file__).resolve().parent.parent / "001_initial.sql"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite_schema()
        return
    for statement in split_statements(SQL_FILE.read_text(encoding="utf-8")):
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    raise NotImplementedError("the baseline cannot be downgraded: drop the database instead")


def _sqlite_schema() -> None:
    op.create_table(
        "blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("blocker_role", sa.String(length=16), nullable=False),
        sa.Column("blocker_id", sa.Integer(), nullable=False),
        sa.Column("blocked_role", sa.String(length=16), nullable=False),
        sa.Column("blocked_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("blocker_role", "blocker_id", "blocked_role", "blocked_id", name="uq_blocks_pair"),
    )
    op.create_index("ix_blocks_blocked", "blocks", ["blocked_role", "blocked_id"], unique=False)
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_events_created", "events", ["created_at"], unique=False)
    op.create_index("ix_events_room", "events", ["room", "id"], unique=False)
    op.create_table(
        "mentor_profiles",
        sa.Column("mentor_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sectors", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("max_mentees", sa.Integer(), nullable=True),
        sa.Column("accepting", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mentor_id"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_role", sa.String(length=16), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_notifications_recipient", "notifications", ["recipient_role", "recipient_id", "id"], unique=False
    )
    op.create_table(
        "relationships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=16), nullable=False),
        sa.Column("request_message", sa.Text(), nullable=True),
        sa.Column("match_score", sa.Integer(), nullable=True),
        sa.Column("response_reason", sa.Text(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("ended_by_role", sa.String(length=16), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("responded_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column(
            "active_student_id",
            sa.Integer(),
            sa.Computed("CASE WHEN status = 'active' THEN student_id END", persisted=True),
            nullable=True,
        ),
        sa.Column(
            "pending_mentor_id",
            sa.Integer(),
            sa.Computed("CASE WHEN status = 'pending' THEN mentor_id END", persisted=True),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("active_student_id", name="uq_relationships_active_student"),
        sa.UniqueConstraint("student_id", "pending_mentor_id", name="uq_relationships_pending_pair"),
    )
    op.create_index("ix_relationships_mentor_status", "relationships", ["mentor_id", "status"], unique=False)
    op.create_index("ix_relationships_student_status", "relationships", ["student_id", "status"], unique=False)
    op.create_table(
        "student_needs",
        sa.Column("student_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sectors", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("goals", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("student_id"),
    )
    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["relationship_id"], ["relationships.id"], name="fk_activities_relationship"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_activities_relationship", "activities", ["relationship_id", "id"], unique=False)
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("owner_role", sa.String(length=16), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("relationship_id", sa.Integer(), nullable=True),
        sa.Column("direct_key", sa.String(length=64), nullable=True),
        sa.Column("last_message_id", sa.BigInteger(), nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["relationship_id"], ["relationships.id"], name="fk_conversations_relationship"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("direct_key", name="uq_conversations_direct_key"),
        sa.UniqueConstraint("relationship_id", name="uq_conversations_relationship"),
    )
    op.create_index("ix_conversations_activity", "conversations", ["last_activity_at", "id"], unique=False)
    op.create_table(
        "goals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("created_by_role", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["relationship_id"], ["relationships.id"], name="fk_goals_relationship"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_goals_relationship", "goals", ["relationship_id", "id"], unique=False)
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("sender_role", sa.String(length=16), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("client_msg_id", sa.String(length=64), nullable=True),
        sa.Column("reply_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], name="fk_messages_conversation"),
        sa.ForeignKeyConstraint(["parent_id"], ["messages.id"], name="fk_messages_parent"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender_role", "sender_id", "client_msg_id", name="uq_messages_client_msg"),
    )
    op.create_index("ix_messages_conversation", "messages", ["conversation_id", "id"], unique=False)
    op.create_index("ix_messages_parent", "messages", ["parent_id"], unique=False)
    op.create_table(
        "participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.Column("left_at", sa.DateTime(), nullable=True),
        sa.Column("left_message_id", sa.BigInteger(), nullable=True),
        sa.Column("last_read_message_id", sa.BigInteger(), nullable=True),
        sa.Column("last_read_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], name="fk_participants_conversation"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id", "role", "principal_id", name="uq_participants_member"),
    )
    op.create_index(
        "ix_participants_principal", "participants", ["role", "principal_id", "conversation_id"], unique=False
    )
