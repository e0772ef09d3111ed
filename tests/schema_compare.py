"""Compare the models' metadata with a live MySQL/MariaDB schema.

Returns human-readable differences; an empty list means no drift.
"""
from __future__ import annotations

import re

from sqlalchemy import MetaData, inspect
from sqlalchemy.dialects import mysql

IGNORED_TABLES = {"schema_migrations"}
_DIALECT = mysql.dialect()


def normalize_type(type_) -> str:
    text = type_.compile(dialect=_DIALECT).upper()
    text = re.sub(r"\s+(CHARACTER SET|COLLATE)\s+\w+", "", text)
    text = re.sub(r"^(TINYINT)\(1\)$", "BOOL", text)
    text = re.sub(r"^(INTEGER|BIGINT|SMALLINT|TINYINT)\(\d+\)", r"\1", text)
    # MariaDB stores JSON as LONGTEXT with a json_valid() check.
    return {"JSON": "LONGTEXT", "BOOLEAN": "BOOL"}.get(text, text)


def _model_columns(table):
    return {
        col.name: (normalize_type(col.type), col.nullable, col.computed is not None, col.primary_key)
        for col in table.columns
    }


def _db_columns(inspector, name, pk):
    return {
        col["name"]: (normalize_type(col["type"]), col["nullable"], "computed" in col, col["name"] in pk)
        for col in inspector.get_columns(name)
    }


def _model_indexes(table):
    found = {(ix.name, tuple(c.name for c in ix.columns), bool(ix.unique), ix.dialect_options["mysql"]["prefix"] or "")
             for ix in table.indexes}
    for constraint in table.constraints:
        if constraint.__class__.__name__ == "UniqueConstraint":
            found.add((constraint.name, tuple(c.name for c in constraint.columns), True, ""))
    return found


def _db_indexes(inspector, name):
    return {
        (ix["name"], tuple(ix["column_names"]), bool(ix["unique"]),
         (ix.get("dialect_options") or {}).get("mysql_prefix", "") or "")
        for ix in inspector.get_indexes(name)
    }


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
    problems: list[str] = []
    model_tables = set(metadata.tables)
    db_tables = set(inspector.get_table_names()) - IGNORED_TABLES
    for name in sorted(model_tables ^ db_tables):
        where = "models" if name in model_tables else "sql/"
        problems.append(f"table {name} only in {where}")
    for name in sorted(model_tables & db_tables):
        table = metadata.tables[name]
        pk = set(inspector.get_pk_constraint(name)["constrained_columns"])
        model_cols, db_cols = _model_columns(table), _db_columns(inspector, name, pk)
        for col in sorted(set(model_cols) | set(db_cols)):
            if model_cols.get(col) != db_cols.get(col):
                problems.append(f"{name}.{col}: models {model_cols.get(col)} != sql/ {db_cols.get(col)}")
        for kind, model, db in [
            ("index", _model_indexes(table), _db_indexes(inspector, name)),
            ("foreign key", _model_fks(table), _db_fks(inspector, name)),
        ]:
            for item in sorted(model - db):
                problems.append(f"{name}: {kind} {item} only in models")
            for item in sorted(db - model):
                problems.append(f"{name}: {kind} {item} only in sql/")
        options = inspector.get_table_options(name)
        if options.get("mysql_engine", "").lower() != "innodb":
            problems.append(f"{name}: engine {options.get('mysql_engine')} is not InnoDB")
        if "utf8mb4" not in str(options.get("mysql_default charset", "")):
            problems.append(f"{name}: charset {options.get('mysql_default charset')} is not utf8mb4")
    return problems
