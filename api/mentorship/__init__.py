"""Mentorship: profiles, needs and the directory, matching, relationships with their goals and log,
sessions and the calendar feed, dashboards, the activity feed, the audit."""
from api.mentorship import (
    activities,
    activity_feed,
    audit,
    calendar,
    dashboard,
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
    calendar.blp, dashboard.blp, activity_feed.blp, audit.blp,
]
