"""The audit trail: who changed what in mentorship, with the values before and after.

Called inside the change's transaction (like api.outbox.record), so a change
and its audit entry commit or roll back together. Entities: `relationship`,
`goal`, `session`, `mentor_profile`, `student_needs` (add freely).

    before = audit_trail.snapshot(goal, GOAL_FIELDS)
    ... change the goal ...
    audit_trail.record_change("goal", goal.id, "updated", before, audit_trail.snapshot(goal, GOAL_FIELDS))

Only the fields whose values differ are kept; a change that changes nothing
writes nothing.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from api.auth import current_principal
from api.extensions import db
from api.outbox import request_id
from shared.auth import Principal
from shared.models import AuditEntry
from shared.timeutil import isoformat_z


def _plain(value: Any) -> Any:
    """A JSON value for the log: times as ISO 8601 UTC, everything else as is."""
    if isinstance(value, dt.datetime):
        return isoformat_z(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def snapshot(row: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The named attributes of a row (or None for no row), as JSON values."""
    return {name: _plain(getattr(row, name)) for name in fields}


def record_change(
    entity: str,
    entity_id: int,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    actor: Principal | None = None,
) -> AuditEntry | None:
    """Add an audit entry to the current transaction; None when nothing changed.

    `before` is None for a creation and `after` None for a deletion; otherwise
    both are reduced to the fields that differ."""
    if before is not None and after is not None:
        changed = [key for key in after if before.get(key) != after[key]]
        if not changed:
            return None
        before = {key: before.get(key) for key in changed}
        after = {key: after[key] for key in changed}
    who = actor or current_principal()
    entry = AuditEntry(
        entity=entity, entity_id=entity_id, action=action, actor_role=who.role, actor_id=who.id,
        request_id=request_id(), before=before, after=after,
    )
    db.session.add(entry)
    return entry
