"""The directory's pages: mentors for anyone, students open to offers for
mentors and staff, filtered, in id-cursor pages (newest profile first).

Each page is one statement, whatever its size: tag filters join the
directory_tags index (casefolded, the same on MariaDB and SQLite), the
capacity in use is a correlated count over the (mentor_id, status) index,
and `q` is a case-insensitive substring (LIKE with its wildcards escaped).
A student's or mentor's score needs one more read: the caller's own needs
or profile.
"""
from __future__ import annotations

from sqlalchemy import and_, exists, func, not_, or_, select

from api.auth import app_config
from api.extensions import db
from api.mentorship.editing import tag_key
from api.mentorship.lifecycle import capacity
from api.mentorship.scoring import score_pair
from api.paging import fetch_page
from api.schemas import Augmented
from shared.auth import Principal
from shared.models import DirectoryTag, MentorProfile, Relationship, StudentNeeds

LIKE_ESCAPE = "\\"


def _contains(text: str) -> str:
    """A LIKE pattern for `text` anywhere, its own % _ and \\ taken literally."""
    for char in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(char, LIKE_ESCAPE + char)
    return f"%{text}%"


def _filtered(stmt, role: str, key, query: dict, text_columns: tuple):
    for kind in ("sector", "skill", "language"):
        value = tag_key(query.get(kind) or "")
        if value:
            tagged = select(DirectoryTag.principal_id).where(
                DirectoryTag.role == role, DirectoryTag.kind == kind, DirectoryTag.tag == value
            )
            stmt = stmt.where(key.in_(tagged))
    q = (query.get("q") or "").strip()
    if q:
        stmt = stmt.where(or_(*(column.ilike(_contains(q), escape=LIKE_ESCAPE) for column in text_columns)))
    if "before" in query:
        stmt = stmt.where(key < query["before"])
    return stmt.order_by(key.desc())


def _next_before(rows: list, more: bool, key) -> int | None:
    return key(rows[-1]) if more else None


def mentors(query: dict, viewer: Principal) -> tuple[list[Augmented], int | None]:
    """A page of mentor cards with capacity; scored when the viewer is a student."""
    active = (
        select(func.count()).select_from(Relationship)
        .where(Relationship.mentor_id == MentorProfile.mentor_id, Relationship.status == "active")
        .correlate(MentorProfile).scalar_subquery()
    )
    limit = func.coalesce(MentorProfile.max_mentees, app_config().default_max_mentees)
    open_now = and_(MentorProfile.accepting.is_(True), active < limit)
    stmt = select(MentorProfile, active.label("active"))
    if "accepting" in query:
        stmt = stmt.where(open_now if query["accepting"] else not_(open_now))
    searched = (MentorProfile.display_name, MentorProfile.headline)
    stmt = _filtered(stmt, "mentor", MentorProfile.mentor_id, query, searched)
    rows, more = fetch_page(stmt, query["limit"], scalars=False)
    needs = db.session.get(StudentNeeds, viewer.id) if viewer.role == "student" else None
    cards = []
    for profile, in_use in rows:
        most = capacity(profile)
        extra = {"capacity": {"max": most, "active": in_use}, "accepting": profile.accepting and in_use < most}
        if viewer.role == "student":
            extra.update(score_pair(needs, profile))
        cards.append(Augmented(profile, **extra))
    return cards, _next_before(rows, more, lambda row: row[0].mentor_id)


def students(query: dict, viewer: Principal) -> tuple[list, int | None]:
    """A page of students open to offers and without an active mentor; scored for a mentor."""
    mentored = exists().where(Relationship.student_id == StudentNeeds.student_id, Relationship.status == "active")
    stmt = select(StudentNeeds).where(StudentNeeds.open_to_offers.is_(True), ~mentored)
    stmt = _filtered(stmt, "student", StudentNeeds.student_id, query, (StudentNeeds.display_name,))
    rows, more = fetch_page(stmt, query["limit"])
    cards: list = rows
    if viewer.role == "mentor":
        profile = db.session.get(MentorProfile, viewer.id)
        cards = [Augmented(needs, **score_pair(needs, profile)) for needs in rows]
    return cards, _next_before(rows, more, lambda row: row.student_id)
