"""Baseline: the schema of sql/001_initial.sql, on MySQL/MariaDB and SQLite alike.

MySQL/MariaDB run the file as written, the DDL reviewed for production. SQLite
runs the same statements with the few MySQL-only words translated (table
options, AUTO_INCREMENT, DATETIME(6), the FULLTEXT index), so both backends
start from one description of the schema as it stood at 001: never edit that
file, and never call the live models' `create_all` here. Later revisions
change the schema for both backends (Alembic ops; `op.batch_alter_table`
where SQLite cannot ALTER). tests/test_schema_drift.py and tests/test_migrate.py
compare the result with the models.

Revision ID: 0001
Revises:
"""
import re
from pathlib import Path

from alembic import op

from shared.migrate import split_statements

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQL_FILE = Path(__file__).resolve().parent.parent / "001_initial.sql"

# MySQL DDL -> SQLite DDL, for the constructs 001 uses.
_TO_SQLITE = [
    (re.compile(r"\)\s*ENGINE=\w+[^;]*$"), ")"),  # table options
    (re.compile(r"\bBIGINT NOT NULL AUTO_INCREMENT\b"), "INTEGER NOT NULL"),  # rowid alias, as create_all makes
    (re.compile(r"\s+AUTO_INCREMENT\b"), ""),
    (re.compile(r"\bDATETIME\(6\)"), "DATETIME"),
    (re.compile(r"\bBOOL\b"), "BOOLEAN"),
]


def sqlite_statements(sql: str) -> list[str]:
    statements = []
    for statement in split_statements(sql):
        if statement.startswith("CREATE FULLTEXT INDEX"):
            continue  # search on SQLite uses LIKE
        for pattern, replacement in _TO_SQLITE:
            statement = pattern.sub(replacement, statement)
        statements.append(statement)
    return statements


def upgrade() -> None:
    bind = op.get_bind()
    sql = SQL_FILE.read_text(encoding="utf-8")
    statements = sqlite_statements(sql) if bind.dialect.name == "sqlite" else split_statements(sql)
    for statement in statements:
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    raise NotImplementedError("the baseline cannot be downgraded: drop the database instead")
