"""Bring the database up to date with Alembic: `python -m shared.migrate`.

The Alembic environment lives in `sql/` (`sql/env.py`, revisions in
`sql/versions/`), configured here in code: there is no alembic.ini. The
baseline revision is the schema of `sql/001_initial.sql`, on MySQL/MariaDB
and SQLite alike; running again is a no-op. On MySQL a named lock keeps two
processes that start at once from migrating together.

Databases that predate Alembic are stamped at the baseline, not re-created:
a MySQL database migrated by the former tool (a `001_initial.sql` row in
`schema_migrations`), and a SQLite file that `create_all` made (the tables,
no version table).

A new revision from the template (`sql/script.py.mako`):
    .venv/bin/python -c 'from alembic import command; from shared.migrate import alembic_config;
        command.revision(alembic_config(), "add x", rev_id="0002")'
"""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from shared.config import load_or_exit
from shared.db import make_engine
from shared.logs import cause

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
VERSIONS_DIR = SQL_DIR / "versions"
BASELINE = "0001"
# The former tool's record (schema_migrations.version) -> the revision it equals.
OLD_TOOL_VERSIONS = {"001_initial.sql": BASELINE}
# The tables of the baseline: a SQLite file holding them all and no version is stamped.
BASELINE_TABLES = frozenset({
    "activities", "blocks", "conversations", "events", "goals", "mentor_profiles", "messages",
    "notifications", "participants", "relationships", "student_needs",
})
LOCK_NAME = "shared.migrate"
LOCK_TIMEOUT_S = 60

Log = Callable[[str], object]


class MigrationError(RuntimeError):
    pass


def split_statements(sql: str) -> list[str]:
    """Statements end with `;` at the end of a line; `--` lines are comments."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    parts = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return [part.strip() for part in parts if part.strip()]


def alembic_config(connection: Connection | None = None, version_dirs: Iterable[Path] = ()) -> AlembicConfig:
    """Alembic's configuration for `sql/`; `version_dirs` adds revision folders (tests)."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(SQL_DIR))
    config.set_main_option("path_separator", "os")
    locations = [str(VERSIONS_DIR), *(str(path) for path in version_dirs)]
    config.set_main_option("version_locations", os.pathsep.join(locations))
    config.attributes["connection"] = connection
    config.attributes["applied"] = []
    return config


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _predates_alembic(connection: Connection) -> bool:
    """True for a database with the baseline schema and no Alembic version."""
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" in tables:
        return False
    if connection.dialect.name == "sqlite":
        present = BASELINE_TABLES & tables
        if present and present != BASELINE_TABLES:
            raise MigrationError(f"{connection.engine.url.database} holds part of the schema only: {sorted(present)}")
        return bool(present)
    if "schema_migrations" not in tables:
        return False
    done = set(connection.execute(text("SELECT version FROM schema_migrations")).scalars())
    unknown = done - set(OLD_TOOL_VERSIONS)
    if unknown:
        raise MigrationError(f"schema_migrations holds versions Alembic does not know: {sorted(unknown)}")
    return bool(done)


def _upgrade(connection: Connection, log: Log, version_dirs: Iterable[Path]) -> list[str]:
    config = alembic_config(connection, version_dirs)
    with connection.begin():
        if current_revision(connection) is None and _predates_alembic(connection):
            command.stamp(config, BASELINE)
            log(f"stamped the existing schema at {BASELINE} (created before Alembic)")
        command.upgrade(config, "head")
    applied: list[str] = config.attributes["applied"]
    for revision in applied:
        log(f"applied {revision}")
    return applied


def migrate(engine: Engine, log: Log = print, version_dirs: Iterable[Path] = ()) -> list[str]:
    """Bring the database at `engine` up to date; returns the revisions applied."""
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            return _upgrade(connection, log, version_dirs)
        locked = connection.execute(text("SELECT GET_LOCK(:name, :timeout)"),
                                    {"name": LOCK_NAME, "timeout": LOCK_TIMEOUT_S}).scalar()
        connection.commit()
        if locked != 1:
            raise MigrationError("another migration holds the lock; try again")
        try:
            return _upgrade(connection, log, version_dirs)
        finally:
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})
            connection.commit()


def main() -> None:
    config = load_or_exit()
    engine = make_engine(config.database_url)
    try:
        applied = migrate(engine)
    except MigrationError as exc:
        print(f"migration failed: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        print(f"migration failed: database {where}: {cause(exc)}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        engine.dispose()
    if engine.dialect.name == "sqlite":
        print(f"{len(applied)} migration(s) applied; schema ready in {engine.url.database}")
    else:
        print(f"{len(applied)} migration(s) applied; database is up to date")


if __name__ == "__main__":
    main()
