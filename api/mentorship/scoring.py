"""Scoring pairs and finding candidates: mentors for a student, students for a mentor.

Score (0-100) = 40 x sectors overlap + 40 x skills overlap + 20 x languages
overlap, where overlap = |student's items that the mentor also lists| /
|student's items|, compared case-insensitively after trimming, duplicates
counted once. A part whose student list is empty scores 0. The total is
rounded half up to an integer; ties go to the lower id.
"""
from __future__ import annotations

from fractions import Fraction

from sqlalchemy import func, select

from api.auth import app_config
from api.extensions import db
from shared.models import MentorProfile, Relationship, StudentNeeds

WEIGHTS = (("sectors", 40), ("skills", 40), ("languages", 20))


def _wanted(items: list) -> dict[str, str]:
    """casefolded -> first spelling, in the student's order."""
    out: dict[str, str] = {}
    for item in items or []:
        out.setdefault(item.strip().casefold(), item.strip())
    out.pop("", None)
    return out


def score_pair(needs: StudentNeeds | None, profile: MentorProfile | None) -> dict:
    """{"score": int, "breakdown": {part: {weight, wanted, matched, points}}}."""
    total, breakdown = Fraction(0), {}
    for part, weight in WEIGHTS:
        wanted = _wanted(getattr(needs, part) if needs else [])
        offered = set(_wanted(getattr(profile, part) if profile else []))
        matched = [spelling for key, spelling in wanted.items() if key in offered]
        points = Fraction(len(matched), len(wanted)) * weight if wanted else Fraction(0)
        total += points
        points_shown = round(float(points), 2)
        breakdown[part] = {"weight": weight, "wanted": len(wanted), "matched": matched, "points": points_shown}
    return {"score": int(total + Fraction(1, 2)), "breakdown": breakdown}


def _related(column, **where) -> select:
    return select(column).where(Relationship.status.in_(("pending", "active")), *(
        getattr(Relationship, name) == value for name, value in where.items()
    ))


def mentors_for(student_id: int) -> list[tuple[int, dict]]:
    """Mentors with a profile, accepting, with capacity left, not already pending/active with this student."""
    active = (
        select(Relationship.mentor_id, func.count().label("n"))
        .where(Relationship.status == "active").group_by(Relationship.mentor_id).subquery()
    )
    stmt = (
        select(MentorProfile)
        .outerjoin(active, active.c.mentor_id == MentorProfile.mentor_id)
        .where(
            MentorProfile.accepting.is_(True),
            func.coalesce(active.c.n, 0) < func.coalesce(MentorProfile.max_mentees, app_config().default_max_mentees),
            MentorProfile.mentor_id.not_in(_related(Relationship.mentor_id, student_id=student_id)),
        )
    )
    needs = db.session.get(StudentNeeds, student_id)
    return [(p.mentor_id, score_pair(needs, p)) for p in db.session.execute(stmt).scalars()]


def students_for(mentor_id: int) -> list[tuple[int, dict]]:
    """Students with needs, no active mentor, and no pending request with this mentor."""
    busy = select(Relationship.student_id).where(Relationship.status == "active")
    stmt = select(StudentNeeds).where(
        StudentNeeds.student_id.not_in(busy),
        StudentNeeds.student_id.not_in(_related(Relationship.student_id, mentor_id=mentor_id)),
    )
    profile = db.session.get(MentorProfile, mentor_id)
    return [(n.student_id, score_pair(n, profile)) for n in db.session.execute(stmt).scalars()]


def ranked(candidates: list[tuple[int, dict]], role: str, limit: int) -> list[dict]:
    candidates.sort(key=lambda c: (-c[1]["score"], c[0]))
    return [{"role": role, "id": cid, **scored} for cid, scored in candidates[:limit]]
