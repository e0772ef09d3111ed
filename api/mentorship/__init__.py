"""Mentorship: profiles, needs and the directory, matching, relationships with their goals and log, the audit."""
from api.mentorship import activities, audit, directory, goals, matches, profiles, relationships

BLUEPRINTS = [profiles.blp, directory.blp, matches.blp, relationships.blp, goals.blp, activities.blp, audit.blp]
