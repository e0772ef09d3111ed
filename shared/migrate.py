"""Apply the versioned SQL migrations in `sql/`: `python -m shared.migrate`.

On MySQL/MariaDB each `sql/NNN_name.sql` runs once, in order, and is
recorded in `schema_migrations`; running again is a no-op. A named lock keeps
two processes that start at once from applying the same file twice. On
SQLite (the embedded default) the same schema is created from the models.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from shared.config import load_or_exit
from shared.db import make_engine
from shared.models import Base

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    pass


def migration_files(sql_dir: Path = SQL_DIR) -> list[Path]:
    files = [p for p in sorted(sql_dir.glob("*.sql")) if MIGRATION_NAME.match(p.name)]
    numbers = [p.name[:3] for p in files]
    if len(set(numbers)) != len(numbers):
        raise MigrationError(f"two migrations share a number in {sql_dir}")
    return files


def split_statements(sql: str) -> list[str]:
    """Statements end with `;` at the end of a line; `--` lines are comments."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    parts = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return [part.strip() for part in parts if part.strip()]


def _applied(conn) -> set[str]:
    conn.execute(
        text(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version VARCHAR(255) NOT NULL PRIMARY KEY,"
            " applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
            ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        )
    )
    return {row[0] for row in conn.execute(text("SELECT version FROM schema_migrations"))}


def migrate_mysql(engine: Engine, sql_dir: Path = SQL_DIR, log=print) -> list[str]:
    applied_now = []
    with engine.connect() as conn:
        if conn.execute(text("SELECT GET_LOCK('shared.migrate', 60)")).scalar() != 1:
            raise MigrationError("another migration holds the lock; try again")
        try:
            done = _applied(conn)
            for path in migration_files(sql_dir):
                if path.name in done:
                    continue
                for statement in split_statements(path.read_text(encoding="utf-8")):
                    conn.exec_driver_sql(statement)
                conn.execute(text("INSERT INTO schema_migrations (version) VALUES (:v)"), {"v": path.name})
                conn.commit()
                applied_now.append(path.name)
                log(f"applied {path.name}")
        finally:
            conn.execute(text("SELECT RELEASE_LOCK('shared.migrate')"))
    return applied_now


def migrate(engine: Engine, log=print) -> list[str]:
    """Bring the database at `engine` up to date; returns what was applied."""
    if engine.dialect.name == "sqlite":
        Base.metadata.create_all(engine)
        return []
    return migrate_mysql(engine, log=log)


def main() -> None:
    config = load_or_exit()
    engine = make_engine(config.database_url)
    try:
        applied = migrate(engine)
    except MigrationError as exc:
        print(f"migration failed: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        engine.dispose()
    if engine.dialect.name == "sqlite":
        print(f"schema ready in {engine.url.database}")
    else:
        print(f"{len(applied)} migration(s) applied; database is up to date")


if __name__ == "__main__":
    main()
