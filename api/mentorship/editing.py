"""Saving a mentor's profile and a student's needs: the whole of them, with the
directory's tag index kept in step and the change in the audit trail, all in
the caller's transaction."""
from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from api import audit_trail
from api.extensions import db
from api.mentorship.lifecycle import profile_for
from shared.models import DirectoryTag, MentorProfile, StudentNeeds

PROFILE_FIELDS = (
    "sectors", "skills", "languages", "max_mentees", "accepting",
    "display_name", "headline", "bio", "timezone", "availability",
)
NEEDS_FIELDS = ("sectors", "skills", "languages", "goals", "display_name", "bio", "timezone", "open_to_offers")
TAG_KINDS = (("sectors", "sector"), ("skills", "skill"), ("languages", "language"))
TRIMMED = ("display_name", "headline")


def tag_key(item: str) -> str:
    """How the directory compares tags: as matching does (api/mentorship/scoring.py)."""
    return item.strip().casefold()


def _cleaned(body: dict) -> dict:
    out = {k: [i.strip() for i in v] if k in dict(TAG_KINDS) else v for k, v in body.items()}
    for name in TRIMMED:
        if out.get(name) is not None:
            out[name] = out[name].strip()
    if "availability" in out:
        out["availability"] = sorted(out["availability"], key=lambda s: (s["weekday"], s["start"]))
    return out


def _index_tags(role: str, principal_id: int, row) -> None:
    db.session.execute(delete(DirectoryTag).where(DirectoryTag.role == role, DirectoryTag.principal_id == principal_id))
    rows = [
        {"role": role, "principal_id": principal_id, "kind": kind, "tag": tag_key(item)}
        for column, kind in TAG_KINDS
        for item in getattr(row, column)
    ]
    if rows:  # the lists are distinct case-insensitively (the schema checks), so no key repeats
        db.session.execute(insert(DirectoryTag), rows)


def _audited_save(entity: str, key: int, row, fields: tuple[str, ...], body: dict, created: bool) -> None:
    before = None if created else audit_trail.snapshot(row, fields)
    for name, value in _cleaned(body).items():
        setattr(row, name, value)
    db.session.flush()
    _index_tags("mentor" if entity == "mentor_profile" else "student", key, row)
    after = audit_trail.snapshot(row, fields)
    audit_trail.record_change(entity, key, "created" if created else "updated", before, after)


def save_profile(mentor_id: int, body: dict) -> MentorProfile:
    """Replace the mentor's profile, creating it on the first save."""
    # Locked: serialises with requests that read `accepting` and accepts that count capacity.
    profile = profile_for(mentor_id, lock="update")
    created = profile is None
    if created:
        profile = MentorProfile(mentor_id=mentor_id)
        try:
            with db.session.begin_nested():
                db.session.add(profile)
                _audited_save("mentor_profile", mentor_id, profile, PROFILE_FIELDS, body, created=True)
            return profile
        except IntegrityError:  # a concurrent first save won: update theirs
            profile = profile_for(mentor_id, lock="update")
    _audited_save("mentor_profile", mentor_id, profile, PROFILE_FIELDS, body, created=False)
    return profile


def save_needs(student_id: int, body: dict) -> StudentNeeds:
    """Replace the student's needs, creating them on the first save."""
    stmt = select(StudentNeeds).where(StudentNeeds.student_id == student_id).with_for_update()
    needs = db.session.execute(stmt).scalar_one_or_none()
    created = needs is None
    if created:
        needs = StudentNeeds(student_id=student_id)
        db.session.add(needs)
    _audited_save("student_needs", student_id, needs, NEEDS_FIELDS, body, created=created)
    return needs
