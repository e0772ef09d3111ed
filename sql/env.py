"""Alembic environment for `python -m shared.migrate` (configured in code, no alembic.ini).

shared.migrate passes the connection, inside its transaction and (on MySQL)
its named lock; each revision applied is recorded for the command's report.
"""
from alembic import context
from alembic.runtime.migration import MigrationInfo

from shared.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations with `python -m shared.migrate`, which configures Alembic")
applied: list[str] = config.attributes.setdefault("applied", [])


def record(*, step: MigrationInfo, **_: object) -> None:
    if step.is_upgrade and not step.is_stamp and step.up_revision_id:
        applied.append(step.up_revision_id)


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters a table by copying it: autogenerate then writes batch operations.
    render_as_batch=connection.dialect.name == "sqlite",
    on_version_apply=record,
)
with context.begin_transaction():
    context.run_migrations()
