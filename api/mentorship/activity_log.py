"""What every mentorship change writes besides itself: the activity row and
the events to both members.

Called inside the change's transaction, so a change, its activity row and its
events commit (or roll back) together.
"""
from __future__ import annotations

from api.extensions import db
from api.mentorship.access import members
from api.mentorship.schemas import activity_out
from api.outbox import record
from shared import rooms
from shared.auth import Principal
from shared.models import Activity, Relationship


def announce(rel: Relationship, type_: str, data: dict) -> None:
    """One event per member's personal room, in this transaction."""
    for member in members(rel):
        record(rooms.personal(member), type_, data)


def log_activity(
    rel: Relationship, actor: Principal, kind: str, details: dict | None = None, text: str | None = None
) -> Activity:
    """Append to the relationship's log and tell both members."""
    row = Activity(
        relationship_id=rel.id, actor_role=actor.role, actor_id=actor.id, kind=kind, text=text, details=details
    )
    db.session.add(row)
    db.session.flush()
    announce(rel, "activity:created", activity_out.dump(row))
    return row
