"""`python -m shared.migrate` on Alembic: fresh databases, re-runs, databases made
before Alembic, and a later revision reaching MariaDB and SQLite files alike."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from shared.db import make_engine
from shared.migrate import BASELINE, SQL_DIR, alembic_config, current_revision, migrate, split_statements
from shared.models import Base
from tests.schema_compare import compare

ROOT = Path(__file__).resolve().parent.parent


# What revisions after the baseline add to the models, undone on a create_all file.
AFTER_BASELINE_UNDONE = [
    "DROP INDEX ix_events_message", "ALTER TABLE events DROP COLUMN message_id",
    "DROP INDEX ix_notifications_message", "ALTER TABLE notifications DROP COLUMN message_id",
    "ALTER TABLE participants DROP COLUMN left_seq",
    "DROP TABLE attachments",
]


def quiet(*_: object) -> None:
    pass


def revisions() -> list[str]:
    """Every revision in sql/versions/, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def engine(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrate.db'}"
    else:
        url = request.getfixturevalue("mysql_server").create("mentorship_migrate")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def version_of(engine) -> str | None:
    with engine.connect() as conn:
        return current_revision(conn)


def later_revision(folder: Path, down_revision: str) -> Path:
    """A throwaway revision on top of the real ones: a column and an index."""
    folder.mkdir(exist_ok=True)
    (folder / "9001_test_mood.py").write_text(
        f'''"""Test only: messages.mood."""
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("messages", sa.Column("mood", sa.String(20)))
    op.create_index("ix_messages_mood", "messages", ["mood"])


def downgrade():
    op.drop_index("ix_messages_mood", "messages")
    op.drop_column("messages", "mood")
''',
        encoding="utf-8",
    )
    return folder


def test_split_statements_ignores_comments_and_blank_parts():
    sql = "-- a comment; with a semicolon\nCREATE TABLE a (x INT);\n\nCREATE INDEX i ON a (x);\n"
    assert split_statements(sql) == ["CREATE TABLE a (x INT)", "CREATE INDEX i ON a (x)"]


def test_a_fresh_database_migrates_to_head_and_again_is_a_no_op(engine):
    assert migrate(engine, log=quiet) == revisions()
    assert version_of(engine) == revisions()[-1]
    assert migrate(engine, log=quiet) == []
    assert version_of(engine) == revisions()[-1]
    assert compare(Base.metadata, engine) == []


def test_a_later_revision_reaches_a_migrated_database(engine, tmp_path):
    assert migrate(engine, log=quiet) == revisions()
    extra = later_revision(tmp_path / "versions", revisions()[-1])
    logged: list[str] = []
    assert migrate(engine, log=logged.append, version_dirs=[extra]) == ["9001"]
    assert logged == ["applied 9001"]
    assert migrate(engine, log=quiet, version_dirs=[extra]) == []
    assert version_of(engine) == "9001"
    columns = {col["name"] for col in inspect(engine).get_columns("messages")}
    assert "mood" in columns
    assert "ix_messages_mood" in {ix["name"] for ix in inspect(engine).get_indexes("messages")}


def test_a_sqlite_file_made_by_create_all_is_stamped_then_migrated(tmp_path):
    """The former SQLite path ran create_all and recorded no version."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        for statement in AFTER_BASELINE_UNDONE:  # the models as they stood at the baseline
            conn.exec_driver_sql(statement)
        conn.execute(text("INSERT INTO events (room, type, data, created_at) VALUES ('admins', 't', '{}', '2024-01')"))
    logged: list[str] = []
    extra = later_revision(tmp_path / "versions", revisions()[-1])
    assert migrate(engine, log=logged.append, version_dirs=[extra]) == [*revisions()[1:], "9001"]
    assert logged[0] == f"stamped the existing schema at {BASELINE} (created before Alembic)"
    assert version_of(engine) == "9001"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 1
    assert "mood" in {col["name"] for col in inspect(engine).get_columns("messages")}
    engine.dispose()


def test_a_sqlite_file_with_part_of_the_schema_is_refused(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'part.db'}")
    Base.metadata.tables["events"].create(engine)
    with pytest.raises(Exception, match="part of the schema"):
        migrate(engine, log=quiet)
    engine.dispose()


@pytest.mark.mysql
def test_a_database_migrated_by_the_former_tool_is_stamped_not_recreated(mysql_server):
    engine = make_engine(mysql_server.create("mentorship_oldtool"))
    with engine.begin() as conn:  # what the former shared.migrate did
        conn.exec_driver_sql(
            "CREATE TABLE schema_migrations (version VARCHAR(255) NOT NULL PRIMARY KEY,"
            " applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        )
        for statement in split_statements((SQL_DIR / "001_initial.sql").read_text(encoding="utf-8")):
            conn.exec_driver_sql(statement)
        conn.execute(text("INSERT INTO schema_migrations (version) VALUES ('001_initial.sql')"))
        conn.execute(text("INSERT INTO events (room, type, data, created_at) VALUES ('admins', 't', '{}', NOW(6))"))
    logged: list[str] = []
    assert migrate(engine, log=logged.append) == revisions()[1:]
    assert logged[0] == f"stamped the existing schema at {BASELINE} (created before Alembic)"
    assert version_of(engine) == revisions()[-1]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 1
    assert compare(Base.metadata, engine) == []
    assert migrate(engine, log=quiet) == []
    engine.dispose()


@pytest.mark.mysql
def test_two_processes_migrating_at_once_apply_each_revision_once(mysql_server):
    url = mysql_server.create("mentorship_race")
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        engine = make_engine(url)
        try:
            results.append(migrate(engine, log=quiet))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(results, key=len) == [[], revisions()]


def test_the_command_runs_twice_on_the_embedded_default(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    env.pop("REDIS_URL", None)
    runs = [
        subprocess.run([sys.executable, "-m", "shared.migrate"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=60)
        for _ in range(2)
    ]
    assert [run.returncode for run in runs] == [0, 0], [run.stderr for run in runs]
    assert f"{len(revisions())} migration(s) applied" in runs[0].stdout
    assert "0 migration(s) applied" in runs[1].stdout


def _upgrade_to(engine, revision: str) -> None:
    with engine.connect() as conn, conn.begin():
        command.upgrade(alembic_config(conn), revision)


def test_0002_reaches_a_database_at_0001_and_brings_its_rows_along(engine):
    """events.message_id / notifications.message_id / participants.left_seq arrive, a
    deleted message loses its text everywhere, an edited one keeps only the current text."""
    _upgrade_to(engine, "0001")
    deleted = '{"id":1,"conversation_id":1,"body":"secret","deleted_at":null}'
    edited_before = '{"id":2,"conversation_id":1,"body":"typo","edited_at":null}'
    edited_after = '{"id":2,"conversation_id":1,"body":"fixed","edited_at":"2024-01-01T00:00:00.000Z"}'
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO conversations (id, type, last_seq, last_activity_at, created_at)"
                          " VALUES (1, 'group', 7, '2024-01-01', '2024-01-01')"))
        conn.execute(text("INSERT INTO participants (conversation_id, role, principal_id, joined_at, left_at)"
                          " VALUES (1, 'student', 2, '2024-01-01', '2024-01-02')"))
        conn.execute(text(
            "INSERT INTO messages (id, conversation_id, sender_role, sender_id, body, reply_count, created_at,"
            " deleted_at, edited_at) VALUES (1, 1, 'mentor', 1, 'secret', 0, '2024-01-01', '2024-01-01', NULL),"
            " (2, 1, 'mentor', 1, 'fixed', 0, '2024-01-01', NULL, '2024-01-01')"))
        for type_, data in (("message:created", deleted), ("message:deleted", deleted),
                            ("message:created", edited_before), ("message:updated", edited_after),
                            ("conversation:read", '{"conversation_id":1}')):
            conn.execute(text("INSERT INTO events (room, type, data, created_at)"
                              " VALUES ('conversation:1', :type, :data, '2024-01-01')"), {"type": type_, "data": data})
    assert migrate(engine, log=quiet) == revisions()[1:]
    assert compare(Base.metadata, engine) == []
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT type, message_id, data FROM events ORDER BY id")).all()
        assert conn.execute(text("SELECT body FROM messages WHERE id = 1")).scalar() == ""
        assert conn.execute(text("SELECT left_seq FROM participants")).scalar() == 7
    assert [(t, m) for t, m, _ in rows] == [("message:created", 1), ("message:deleted", 1), ("message:created", 2),
                                           ("message:updated", 2), ("conversation:read", None)]
    assert "secret" not in str(rows) and "typo" not in str(rows)
    assert [json.loads(d)["body"] for _, _, d in rows[:4]] == [None, None, "fixed", "fixed"]
