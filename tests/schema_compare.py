"""Compare the models' metadata with a live MySQL/MariaDB (or SQLite) schema.

Returns human-readable differences; an empty list means no drift.
"""
from __future__ import annotations

import re

from sqlalchemy import MetaData, inspect
from sqlalchemy.dialects import mysql

IGNORED_TABLES = {"schema_migrations", "alembic_version"}
_MYSQL = mysql.dialect()


def normalize_type(type_, dialect=_MYSQL) -> str:
    text = type_.compile(dialect=dialect).upper()
    text = re.sub(r"\s+(CHARACTER SET|COLLATE)\s+\w+", "", text)
    text = re.sub(r"^(TINYINT)\(1\)$", "BOOL", text)
    text = re.sub(r"^(INTEGER|BIGINT|SMALLINT|TINYINT)\(\d+\)", r"\1", text)
    if dialect.name == "sqlite" and text == "BIGINT":
        text = "INTEGER"  # one integer storage class on SQLite
    # MariaDB stores JSON as LONGTEXT with a json_valid() check.
    return {"JSON": "LONGTEXT", "BOOLEAN": "BOOL"}.get(text, text)


def _model_columns(table, dialect):
    return {
        col.name: (normalize_type(col.type, dialect), col.nullable, col.computed is not None, col.primary_key)
        for col in table.columns
    }


def _db_columns(inspector, name, pk, dialect):
    return {
        col["name"]: (normalize_type(col["type"], dialect), col["nullable"], "computed" in col, col["name"] in pk)
        for col in inspector.get_columns(name)
    }


def _applies(index, dialect) -> bool:
    """False for an index the models create on other dialects only (`ddl_if`)."""
    ddl_if = getattr(index, "_ddl_if", None)
    wanted = ddl_if.dialect if ddl_if is not None else None
    return wanted is None or dialect.name in ((wanted,) if isinstance(wanted, str) else wanted)


def _model_indexes(table, dialect):
    found = {(ix.name, tuple(c.name for c in ix.columns), bool(ix.unique), ix.dialect_options["mysql"]["prefix"] or "")
             for ix in table.indexes if _applies(ix, dialect)}
    for constraint in table.constraints:
        if constraint.__class__.__name__ == "UniqueConstraint":
            found.add((constraint.name, tuple(c.name for c in constraint.columns), True, ""))
    return found


def _db_indexes(inspector, name):
    found = {
        (ix["name"], tuple(ix["column_names"]), bool(ix["unique"]),
         (ix.get("dialect_options") or {}).get("mysql_prefix", "") or "")
        for ix in inspector.get_indexes(name)
    }
    if inspector.dialect.name == "sqlite":  # MySQL lists unique constraints as indexes; SQLite apart
        found |= {(uq["name"], tuple(uq["column_names"]), True, "") for uq in inspector.get_unique_constraints(name)}
    return found


def _model_fks(table):
    return {
        (fk.name, tuple(c.name for c in fk.columns), fk.referred_table.name,
         tuple(e.column.name for e in fk.elements))
        for fk in table.foreign_key_constraints
    }


def _db_fks(inspector, name):
    return {
        (fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
        for fk in inspector.get_foreign_keys(name)
    }


def compare(metadata: MetaData, engine) -> list[str]:
    inspector = inspect(engine)
    dialect = engine.dialect
    problems: list[str] = []
    model_tables = set(metadata.tables)
    db_tables = set(inspector.get_table_names()) - IGNORED_TABLES
    for name in sorted(model_tables ^ db_tables):
        where = "models" if name in model_tables else "sql/"
        problems.append(f"table {name} only in {where}")
    for name in sorted(model_tables & db_tables):
        table = metadata.tables[name]
        pk = set(inspector.get_pk_constraint(name)["constrained_columns"])
        model_cols, db_cols = _model_columns(table, dialect), _db_columns(inspector, name, pk, dialect)
        for col in sorted(set(model_cols) | set(db_cols)):
            if model_cols.get(col) != db_cols.get(col):
                problems.append(f"{name}.{col}: models {model_cols.get(col)} != sql/ {db_cols.get(col)}")
        for kind, model, db in [
            ("index", _model_indexes(table, dialect), _db_indexes(inspector, name)),
            ("foreign key", _model_fks(table), _db_fks(inspector, name)),
        ]:
            for item in sorted(model - db):
                problems.append(f"{name}: {kind} {item} only in models")
            for item in sorted(db - model):
                problems.append(f"{name}: {kind} {item} only in sql/")
        if dialect.name == "sqlite":
            continue
        options = inspector.get_table_options(name)
        if options.get("mysql_engine", "").lower() != "innodb":
            problems.append(f"{name}: engine {options.get('mysql_engine')} is not InnoDB")
        if "utf8mb4" not in str(options.get("mysql_default charset", "")):
            problems.append(f"{name}: charset {options.get('mysql_default charset')} is not utf8mb4")
    return problems
