"""Pages of rows: read one row more than the page to tell whether more lie beyond."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from api.extensions import db


def split_page(rows: list, limit: int) -> tuple[list, bool]:
    """(the first `limit` rows, whether there were more) of up to `limit + 1` rows."""
    return rows[:limit], len(rows) > limit


def fetch_page(stmt: Select, limit: int, scalars: bool = True) -> tuple[list[Any], bool]:
    """Run `stmt` for one page of `limit` rows: (rows, more?). `scalars=False` keeps whole rows."""
    result = db.session.execute(stmt.limit(limit + 1))
    return split_page(list(result.scalars() if scalars else result), limit)
