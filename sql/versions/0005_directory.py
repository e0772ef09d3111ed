"""The directory's tag index: `directory_tags`, one row per (person, kind, tag).

GET /mentors and GET /students filter by sector, skill and language. The
lists live in JSON columns, which MariaDB and SQLite search differently
(JSON_CONTAINS vs json_each) and case-sensitively; this table holds each
item casefolded (the comparison matching uses), so a filter is an indexed
join that reads the same on both databases. `tag` compares byte for byte
(utf8mb4_bin): the casefolding is done in Python, and unicode_ci would make
distinct tags such as "resume" and "résumé" collide in the primary key.

Existing profiles and needs are indexed here from their JSON lists.

Revision ID: 0005
Revises: 0011
"""
import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005"
down_revision = "0011"
branch_labels = None
depends_on = None

Tag = sa.String(100).with_variant(mysql.VARCHAR(100, collation="utf8mb4_bin"), "mysql", "mariadb")
TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}
SOURCES = (("mentor", "mentor_profiles", "mentor_id"), ("student", "student_needs", "student_id"))
KINDS = (("sectors", "sector"), ("skills", "skill"), ("languages", "language"))


def _rows(role: str, principal_id: int, lists: dict) -> list[dict]:
    rows = {}
    for column, kind in KINDS:
        value = lists[column]
        for item in json.loads(value) if isinstance(value, str) else value or []:
            tag = item.strip().casefold()
            if tag:
                rows[(kind, tag)] = {"role": role, "principal_id": principal_id, "kind": kind, "tag": tag}
    return list(rows.values())


def upgrade() -> None:
    table = op.create_table(
        "directory_tags",
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("principal_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("tag", Tag, primary_key=True),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_directory_tags_lookup", "directory_tags", ["role", "kind", "tag", "principal_id"])
    conn = op.get_bind()
    for role, source, key in SOURCES:
        found = conn.execute(sa.text(f"SELECT {key}, sectors, skills, languages FROM {source}")).mappings()
        rows = [row for lists in found for row in _rows(role, lists[key], lists)]
        if rows:
            op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_table("directory_tags")
