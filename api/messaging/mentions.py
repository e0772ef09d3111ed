"""Mentions in a message body: `@mentor:12`, `@student:7`, `@admin:1`.

A mention notifies a participant of the conversation even while they have it
muted (api/messaging/notifying.py); naming anyone else does nothing, so a
mention never tells the sender who exists. Mentions are read when a message
is sent; an edit that adds one notifies nobody.
"""
from __future__ import annotations

import re

from sqlalchemy import and_, false, or_

from api.schemas import MAX_PRINCIPAL_ID, MEMBER_ROLES
from shared.auth import Principal

# Not inside a word or an address (`me@student:3`), ids as the input rules
# spell them (ASCII digits, no leading zero), not followed by more of a word.
MENTION = re.compile(rf"(?<![\w@])@({'|'.join(MEMBER_ROLES)}):([1-9][0-9]{{0,9}})(?![\w:])", re.ASCII)
# More than this many people named in one message are not notified as mentions.
MAX_MENTIONS = 50


def mentioned(body: str, sender: Principal) -> list[Principal]:
    """The distinct principals `body` mentions, in order, without the sender."""
    found: dict[Principal, None] = {}
    for role, digits in MENTION.findall(body):
        principal = Principal(role, int(digits))
        if principal.id <= MAX_PRINCIPAL_ID and principal != sender:
            found[principal] = None
    return list(found)[:MAX_MENTIONS]


def is_one_of(role_column, id_column, principals: list[Principal]):
    """SQL: the principal in (`role_column`, `id_column`) is one of `principals`."""
    if not principals:
        return false()
    return or_(*(and_(role_column == p.role, id_column == p.id) for p in principals))
