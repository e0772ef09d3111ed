"""Database engine setup shared by both processes (no Flask, no aiohttp)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event, insert
from sqlalchemy.engine import Connection, Engine, make_url


def engine_options(database_url: str) -> dict[str, Any]:
    """Engine keyword arguments suited to the backend.

    MySQL drops idle connections (wait_timeout), so check them before use and
    recycle them well before the server would.
    """
    if make_url(database_url).get_backend_name() == "sqlite":
        # Threads of the dev server share the file; wait instead of "database is locked".
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    return {"pool_pre_ping": True, "pool_recycle": 1800, "pool_size": 10, "max_overflow": 20}


def make_engine(database_url: str, **overrides: Any) -> Engine:
    return create_engine(database_url, **{**engine_options(database_url), **overrides})


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # SQLite ignores foreign keys unless asked, and WAL lets the gateway read
    # the event log while the API writes.
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def insert_rows(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` into `table` with a plain INSERT; their new ids in order.
    One statement where the database returns ids for many rows in order
    (MariaDB's RETURNING), else one per row (MySQL 8, SQLite)."""
    statement = insert(table)
    if len(rows) > 1 and conn.dialect.insert_executemany_returning_sort_by_parameter_order:
        returning = statement.returning(table.c.id, sort_by_parameter_order=True)
        return list(conn.execute(returning, rows).scalars())
    return [conn.execute(statement, row).inserted_primary_key[0] for row in rows]  # type: ignore[index]
