"""Mentorship: profiles and needs, matching, relationships (goals, activity log), sessions, the calendar feed."""
from api.mentorship import (
    activities,
    calendar,
    goals,
    matches,
    profiles,
    relationships,
    reminders,  # noqa: F401 - registers the session reminder job (api/periodic.py)
    sessions,
)

BLUEPRINTS = [
    profiles.blp, matches.blp, relationships.blp, goals.blp, activities.blp, sessions.blp, calendar.blp,
]
