"""Matching suggestions: `GET /matches` ranks mentors for a student, students for a mentor
(the score is explained in api/mentorship/scoring.py)."""
from __future__ import annotations

from api.auth import current_principal
from api.docs import Blueprint
from api.mentorship.schemas import MatchList, MatchQuery
from api.mentorship.scoring import mentors_for, ranked, students_for

blp = Blueprint("matching", __name__, url_prefix="/api/v1", description="Matching suggestions")


@blp.route("/matches")
@blp.authenticated("mentor", "student")
@blp.arguments(MatchQuery, location="query")
@blp.response(200, MatchList)
def list_matches(query):
    """Ranked suggestions for the caller, best first, with the score's breakdown."""
    me = current_principal()
    if me.role == "student":
        return {"matches": ranked(mentors_for(me.id), "mentor", query["limit"])}
    return {"matches": ranked(students_for(me.id), "student", query["limit"])}
