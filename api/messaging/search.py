"""Message search over the caller's conversations only, deleted messages excluded.

MySQL/MariaDB use the FULLTEXT index `ft_messages_body` in BOOLEAN MODE with
every word required (`+"word"`). Only runs of letters and digits reach the
query, each quoted, so no user text is ever read as a boolean operator.
InnoDB indexes no word shorter than `innodb_ft_min_token_size` (3) and skips
its stopwords, so such words are dropped; a query left with no word is a 422.
SQLite (the embedded default) matches the same words with LIKE.
"""
from __future__ import annotations

import re

from sqlalchemy import and_, select, text

from api.auth import app_config
from api.extensions import db
from api.messaging.access import visible_message_clause
from api.paging import fetch_page
from shared.auth import Principal
from shared.errors import Invalid
from shared.models import Message, Participant

WORD = re.compile(r"[^\W_]+")
MIN_TOKEN = 3
MAX_WORDS = 10
# InnoDB's default full-text stopword list (INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD).
STOPWORDS = frozenset(
    "a about an are as at be by com de en for from how i in is it la of on or that the this to was what"
    " when where who will with und www".split()
)


def terms_of(q: str) -> list[str]:
    """The searchable words of `q`, or 422 when none is left."""
    if len(q.strip()) < app_config().search_min_chars:
        raise Invalid(
            f"the search needs at least {app_config().search_min_chars} characters", code="query_too_short",
            details={"q": ["too short"]},
        )
    words = [w.lower() for w in WORD.findall(q)]
    terms = list(dict.fromkeys(w for w in words if len(w) >= MIN_TOKEN and w not in STOPWORDS))
    if not terms:
        raise Invalid(
            "the search has no word of 3 or more letters that is not a common word", code="query_no_terms",
            details={"q": ["no searchable word"]},
        )
    return terms[:MAX_WORDS]


def containing(term: str) -> str:
    """A LIKE pattern (escape character `\\`) for text containing `term` literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _like(term: str):
    return Message.body.like(containing(term), escape="\\")


def _match(terms: list[str]):
    boolean = " ".join(f'+"{t}"' for t in terms)
    return text("MATCH (messages.body) AGAINST (:ft_query IN BOOLEAN MODE)").bindparams(ft_query=boolean)


def search(principal: Principal, q: str, limit: int, before: int | None) -> dict:
    terms = terms_of(q)
    if db.engine.dialect.name in ("mysql", "mariadb"):
        matches = [_match(terms)]
    else:
        matches = [_like(t) for t in terms]
    query = (
        select(Message)
        .join(Participant, visible_message_clause(principal.role, principal.id))
        .where(and_(*matches), Message.deleted_at.is_(None))
        .order_by(Message.id.desc())
    )
    if before is not None:
        query = query.where(Message.id < before)
    rows, more = fetch_page(query, limit)
    return {"messages": rows, "next_before": rows[-1].id if more else None, "terms": terms}
