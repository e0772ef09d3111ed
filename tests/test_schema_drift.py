"""sql/ (the Alembic revisions) and the models describe the same schema, on fresh MariaDB and SQLite databases."""
from __future__ import annotations

import pytest
from sqlalchemy import Column, MetaData, String, inspect, text

from shared.db import make_engine
from shared.migrate import current_revision, migrate
from shared.models import Base
from tests.schema_compare import compare
from tests.test_migrate import revisions


def drifted_models() -> MetaData:
    """The models plus a column the migrations lack and a column type they do not have."""
    drifted = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["messages"].append_column(Column("mood", String(20)))
    drifted.tables["events"].c.room.type = String(50)
    return drifted


@pytest.fixture
def fresh_engine(mysql_server):
    engine = make_engine(mysql_server.create("mentorship_drift"))
    yield engine
    engine.dispose()


@pytest.mark.mysql
def test_sql_migrations_match_the_models(fresh_engine):
    applied = migrate(fresh_engine, log=lambda *_: None)
    assert applied == revisions()
    assert compare(Base.metadata, fresh_engine) == []


@pytest.mark.mysql
def test_the_comparison_catches_a_column_missing_from_sql(fresh_engine):
    migrate(fresh_engine, log=lambda *_: None)
    problems = compare(drifted_models(), fresh_engine)
    assert any("messages.mood" in p for p in problems)
    assert any("events.room" in p for p in problems)


@pytest.mark.mysql
def test_migrate_twice_is_a_no_op(fresh_engine):
    names = revisions()
    assert names[0] == "0001"
    assert migrate(fresh_engine, log=lambda *_: None) == names
    assert migrate(fresh_engine, log=lambda *_: None) == []
    with fresh_engine.connect() as conn:
        assert current_revision(conn) == names[-1]
        tables = conn.execute(text("SHOW TABLES")).scalars().all()
    assert "schema_migrations" not in tables


@pytest.mark.mysql
def test_invariants_live_in_the_database(fresh_engine):
    """Two active relationships for one student are refused by MariaDB itself."""
    migrate(fresh_engine, log=lambda *_: None)
    insert = text(
        "INSERT INTO relationships (mentor_id, student_id, status, requested_by, created_at, updated_at)"
        " VALUES (:m, 5, :s, 'student', NOW(6), NOW(6))"
    )
    with fresh_engine.begin() as conn:
        conn.execute(insert, {"m": 1, "s": "active"})
        conn.execute(insert, {"m": 2, "s": "ended"})
        conn.execute(insert, {"m": 3, "s": "pending"})
    for params in ({"m": 4, "s": "active"}, {"m": 3, "s": "pending"}):
        with pytest.raises(Exception, match="Duplicate entry"):
            with fresh_engine.begin() as conn:
                conn.execute(insert, params)


def test_sqlite_migrations_match_the_models(tmp_path):
    """On SQLite the baseline runs sql/001 translated; the result matches the models too."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    migrate(engine, log=lambda *_: None)
    assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    assert compare(Base.metadata, engine) == []
    problems = compare(drifted_models(), engine)
    assert any("messages.mood" in p for p in problems)
    assert any("events.room" in p for p in problems)
    engine.dispose()
