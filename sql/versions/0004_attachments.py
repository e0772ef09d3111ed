"""Attachments: files uploaded for messages (`attachments`).

A row per uploaded file: who uploaded it, the message it was sent with
(NULL until then; unattached rows are swept after a while), its name, the
type sniffed from its content, size, an image's width and height, and the
storage keys of the file and of its thumbnail. `ix_attachments_message`
serves both the messages' lookups and the sweep (`message_id IS NULL AND
created_at < ?`), and is the index InnoDB wants for the foreign key.

Revision ID: 0004
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0007"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("uploader_role", sa.String(16), nullable=False),
        sa.Column("uploader_id", sa.Integer(), nullable=False),
        sa.Column("message_id", BIG_ID, sa.ForeignKey("messages.id", name="fk_attachments_message")),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer()),
        sa.Column("height", sa.Integer()),
        sa.Column("storage_key", sa.String(64), nullable=False),
        sa.Column("thumbnail_key", sa.String(64)),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    op.create_index("ix_attachments_message", "attachments", ["message_id", "created_at"])


def downgrade() -> None:
    op.drop_table("attachments")
