"""Mentorship: profiles, needs and the directory, matching, relationships with their goals and log,
sessions and the calendar feed, the audit."""
from api.mentorship import (
    activities,
    audit,
    calendar,
    directory,
    goals,
    matches,
    profiles,
    relationships,
    reminders,  # noqa: F401 - registers the session reminder job (api/periodic.py)
    sessions,
)

BLUEPRINTS = [
    profiles.blp, directory.blp, matches.blp, relationships.blp, goals.blp, activities.blp, sessions.blp,
    calendar.blp, audit.blp,
]
