"""Mentor profiles and student needs, the inputs of matching."""
from __future__ import annotations

from api.auth import current_principal
from api.docs import Blueprint
from api.extensions import db
from api.mentorship import editing
from api.mentorship.dashboard_updates import mark_profile_change
from api.mentorship.lifecycle import active_mentee_ids, capacity, retry_on_deadlock
from api.mentorship.schemas import NeedsIn, NeedsOut, ProfileIn, ProfileOut
from api.schemas import Augmented
from shared.errors import NotFound
from shared.models import MentorProfile, StudentNeeds
from shared.timeutil import utcnow

blp = Blueprint("profiles", __name__, url_prefix="/api/v1", description="Mentor profiles and student needs")


def _with_capacity(profile: MentorProfile) -> Augmented:
    return Augmented(profile, capacity=capacity(profile), active_mentees=len(active_mentee_ids(profile.mentor_id)))


@blp.route("/mentors/me/profile", methods=["PUT"])
@blp.authenticated("mentor")
@blp.arguments(ProfileIn)
@blp.response(200, ProfileOut)
@retry_on_deadlock  # two first saves of one profile both lock the gap where its row will be
def put_profile(body):
    """Set the caller's mentor profile (the whole of it)."""
    profile = editing.save_profile(current_principal().id, body)
    mark_profile_change(profile.mentor_id, utcnow())
    db.session.commit()
    return _with_capacity(profile)


@blp.route("/mentors/me/profile")
@blp.authenticated("mentor")
@blp.response(200, ProfileOut)
@blp.errors(404)
def get_profile():
    """The caller's mentor profile."""
    profile = db.session.get(MentorProfile, current_principal().id)
    if profile is None:
        raise NotFound("you have no mentor profile yet; PUT one", code="profile_not_found")
    return _with_capacity(profile)


@blp.route("/students/me/needs", methods=["PUT"])
@blp.authenticated("student")
@blp.arguments(NeedsIn)
@blp.response(200, NeedsOut)
@retry_on_deadlock
def put_needs(body):
    """Set the caller's needs (the whole of them)."""
    needs = editing.save_needs(current_principal().id, body)
    db.session.commit()
    return needs


@blp.route("/students/me/needs")
@blp.authenticated("student")
@blp.response(200, NeedsOut)
@blp.errors(404)
def get_needs():
    """The caller's needs."""
    needs = db.session.get(StudentNeeds, current_principal().id)
    if needs is None:
        raise NotFound("you have set no needs yet; PUT them", code="needs_not_found")
    return needs
