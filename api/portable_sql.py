"""SQL functions that MariaDB/MySQL and SQLite spell differently, as one expression each.

    seconds_between(Message.created_at, later)   # a float number of seconds
    json_text(Event.data, "kind")                # a top-level JSON string member, unquoted
"""
from __future__ import annotations

from sqlalchemy import Float, String, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class seconds_between(FunctionElement):  # noqa: N801 - reads like the SQL function it is
    """`end - start` in seconds (float)."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between)
def _seconds_mysql(element, compiler, **kw):
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(TIMESTAMPDIFF(MICROSECOND, {start}, {end}) / 1000000.0)"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element, compiler, **kw):
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


class json_text(FunctionElement):  # noqa: N801
    """The text of a top-level member of a JSON text column (NULL when absent)."""

    type = String()
    inherit_cache = True

    def __init__(self, column, key: str) -> None:
        # The path is a bound parameter, so statements that differ only by key share one cached form.
        super().__init__(column, literal(f"$.{key}"))


@compiles(json_text)
def _json_mysql(element, compiler, **kw):
    column, path = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"JSON_UNQUOTE(JSON_EXTRACT({column}, {path}))"


@compiles(json_text, "sqlite")
def _json_sqlite(element, compiler, **kw):
    column, path = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"json_extract({column}, {path})"
