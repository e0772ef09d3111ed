"""Mentor profiles and student needs, the inputs of matching."""
from __future__ import annotations

from flask_smorest import Blueprint

from api.auth import current_principal, require_roles
from api.extensions import db
from api.mentorship.lifecycle import active_mentee_ids, capacity, profile_for
from api.mentorship.schemas import NeedsIn, NeedsOut, ProfileIn, ProfileOut
from shared.errors import NotFound
from shared.models import MentorProfile, StudentNeeds
from shared.timeutil import isoformat_z

blp = Blueprint("profiles", __name__, url_prefix="/api/v1", description="Mentor profiles and student needs")


def profile_dict(p: MentorProfile) -> dict:
    return {
        "mentor_id": p.mentor_id, "sectors": p.sectors, "skills": p.skills, "languages": p.languages,
        "max_mentees": p.max_mentees, "capacity": capacity(p), "active_mentees": len(active_mentee_ids(p.mentor_id)),
        "accepting": p.accepting, "updated_at": isoformat_z(p.updated_at),
    }


def needs_dict(n: StudentNeeds) -> dict:
    return {
        "student_id": n.student_id, "sectors": n.sectors, "skills": n.skills, "languages": n.languages,
        "goals": n.goals, "updated_at": isoformat_z(n.updated_at),
    }


def _strip(body: dict) -> dict:
    return {k: [i.strip() for i in v] if isinstance(v, list) else v for k, v in body.items()}


@blp.route("/mentors/me/profile", methods=["PUT"])
@require_roles("mentor")
@blp.arguments(ProfileIn)
@blp.response(200, ProfileOut)
def put_profile(body):
    """Set the caller's mentor profile (the whole of it)."""
    # Locked, created if missing: serialises with requests that read `accepting`.
    profile = profile_for(current_principal().id, lock="update", create=True)
    for name, value in _strip(body).items():
        setattr(profile, name, value)
    db.session.commit()
    return profile_dict(profile)


@blp.route("/mentors/me/profile")
@require_roles("mentor")
@blp.response(200, ProfileOut)
def get_profile():
    """The caller's mentor profile."""
    profile = db.session.get(MentorProfile, current_principal().id)
    if profile is None:
        raise NotFound("you have no mentor profile yet; PUT one", code="profile_not_found")
    return profile_dict(profile)


@blp.route("/students/me/needs", methods=["PUT"])
@require_roles("student")
@blp.arguments(NeedsIn)
@blp.response(200, NeedsOut)
def put_needs(body):
    """Set the caller's needs (the whole of them)."""
    student_id = current_principal().id
    needs = db.session.get(StudentNeeds, student_id) or StudentNeeds(student_id=student_id)
    for name, value in _strip(body).items():
        setattr(needs, name, value)
    db.session.add(needs)
    db.session.commit()
    return needs_dict(needs)


@blp.route("/students/me/needs")
@require_roles("student")
@blp.response(200, NeedsOut)
def get_needs():
    """The caller's needs."""
    needs = db.session.get(StudentNeeds, current_principal().id)
    if needs is None:
        raise NotFound("you have set no needs yet; PUT them", code="needs_not_found")
    return needs_dict(needs)
