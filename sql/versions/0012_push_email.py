"""Reaching people who are away: Web Push subscriptions, the email addresses
taken from token claims, and when each principal was last sent a digest.

Revision ID: 0012
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0012"
down_revision = "0004"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade() -> None:
    op.create_table(
        "push_subscriptions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("principal_role", sa.String(16), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(2000), nullable=False),
        sa.Column("endpoint_hash", sa.String(64), nullable=False),
        sa.Column("p256dh", sa.String(128), nullable=False),
        sa.Column("auth", sa.String(64), nullable=False),
        sa.Column("previews", sa.Boolean(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.UniqueConstraint("endpoint_hash", name="uq_push_subscriptions_endpoint"),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_push_subscriptions_principal", "push_subscriptions", ["principal_role", "principal_id", "id"])
    op.create_table(
        "email_contacts",
        sa.Column("principal_role", sa.String(16), primary_key=True),
        sa.Column("principal_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("address", sa.String(254)),
        sa.Column("last_digest_at", Timestamp),
        sa.Column("updated_at", Timestamp, nullable=False),
        **TABLE_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table("email_contacts")
    op.drop_table("push_subscriptions")
