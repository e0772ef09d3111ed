"""Directory fields on profiles and needs, a participant's mute, the audit log.

- `mentor_profiles`: display_name, headline, bio, timezone, availability
  (the directory card of GET /mentors).
- `student_needs`: display_name, bio, timezone, open_to_offers (GET /students).
- `participants.muted_until`: no notifications until then.
- `audit_log`: who changed what in mentorship, with before/after values.

Existing rows get empty values: no availability, not open to offers, not muted.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def _profile_columns() -> dict[str, list[sa.Column]]:
    # A JSON column cannot take a literal default on MySQL 8 without an
    # expression, so availability is added nullable, filled, then made NOT NULL.
    return {
        "mentor_profiles": [
            sa.Column("display_name", sa.String(100)),
            sa.Column("headline", sa.String(200)),
            sa.Column("bio", sa.Text()),
            sa.Column("timezone", sa.String(64)),
            sa.Column("availability", sa.JSON()),
        ],
        "student_needs": [
            sa.Column("display_name", sa.String(100)),
            sa.Column("bio", sa.Text()),
            sa.Column("timezone", sa.String(64)),
            sa.Column("open_to_offers", sa.Boolean(), nullable=False, server_default=sa.false()),
        ],
        "participants": [sa.Column("muted_until", Timestamp)],
    }


def upgrade() -> None:
    for table, columns in _profile_columns().items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(column)
    op.execute("UPDATE mentor_profiles SET availability = '[]'")
    with op.batch_alter_table("mentor_profiles") as batch:
        batch.alter_column("availability", existing_type=sa.JSON(), nullable=False)
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(64)),
        sa.Column("before", sa.JSON()),
        sa.Column("after", sa.JSON()),
        sa.Column("created_at", Timestamp, nullable=False),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_audit_entity", "audit_log", ["entity", "entity_id", "id"])
    op.create_index("ix_audit_created", "audit_log", ["created_at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    for table, columns in _profile_columns().items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column.name)
