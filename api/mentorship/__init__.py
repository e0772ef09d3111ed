"""Mentorship: profiles and needs, matching, relationships and their goals and activity log."""
from api.mentorship import activities, goals, matches, profiles, relationships

BLUEPRINTS = [profiles.blp, matches.blp, relationships.blp, goals.blp, activities.blp]
