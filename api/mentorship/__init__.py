"""Mentorship: profiles and needs, matching, relationships and their goals and activity log, dashboards, the feed."""
from api.mentorship import activities, activity_feed, dashboard, goals, matches, profiles, relationships

BLUEPRINTS = [profiles.blp, matches.blp, relationships.blp, goals.blp, activities.blp, dashboard.blp, activity_feed.blp]
