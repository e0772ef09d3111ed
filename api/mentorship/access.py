"""Who may see and change a relationship: the one lookup for 404 + permission."""
from __future__ import annotations

from api.extensions import db
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound
from shared.models import Relationship

# Roles that read every relationship (back office, PHP backends).
STAFF = ("admin", "service")


def mentor_of(rel: Relationship) -> Principal:
    return Principal("mentor", rel.mentor_id)


def student_of(rel: Relationship) -> Principal:
    return Principal("student", rel.student_id)


def members(rel: Relationship) -> list[Principal]:
    return [mentor_of(rel), student_of(rel)]


def is_member(rel: Relationship, principal: Principal) -> bool:
    return principal in members(rel)


def visible_relationship(rel_id: int, principal: Principal, lock: bool = False) -> Relationship:
    """The relationship if the caller is a member or staff; 404 otherwise
    (a stranger must not learn that it exists). `lock` takes the row lock
    that serialises every change to one relationship."""
    rel = db.session.get(Relationship, rel_id, with_for_update=lock or None, populate_existing=lock)
    if rel is None or not (principal.role in STAFF or is_member(rel, principal)):
        raise NotFound(f"relationship {rel_id} not found", code="relationship_not_found")
    return rel


def writable_relationship(rel_id: int, principal: Principal) -> Relationship:
    """For goals and notes: members of an active relationship only."""
    rel = visible_relationship(rel_id, principal, lock=True)
    if not is_member(rel, principal):
        raise Forbidden("only the mentor and the student of a relationship change it", code="members_only")
    if rel.status != "active":
        raise Conflict(
            f"relationship {rel.id} is {rel.status}; goals and notes change only while it is active",
            code="relationship_not_active",
            details={"status": rel.status},
        )
    return rel
