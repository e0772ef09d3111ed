"""The directory: `GET /mentors` for anyone, `GET /students` (open to offers) for mentors and staff."""
from __future__ import annotations

from api.auth import current_principal
from api.docs import Blueprint
from api.mentorship import listing
from api.mentorship.schemas import MentorPage, MentorQuery, StudentPage, StudentQuery

blp = Blueprint("directory", __name__, url_prefix="/api/v1", description="The directory of mentors and students")


@blp.route("/mentors")
@blp.authenticated()
@blp.arguments(MentorQuery, location="query")
@blp.response(200, MentorPage)
def list_mentors(query):
    """Mentors, newest profile first, with capacity; for a student also the match score and its breakdown."""
    mentors, next_before = listing.mentors(query, current_principal())
    return {"mentors": mentors, "next_before": next_before}


@blp.route("/students")
@blp.authenticated("mentor", "admin", "service")
@blp.arguments(StudentQuery, location="query")
@blp.response(200, StudentPage)
def list_students(query):
    """Students open to offers and without an active mentor; for a mentor also the match score."""
    students, next_before = listing.students(query, current_principal())
    return {"students": students, "next_before": next_before}
