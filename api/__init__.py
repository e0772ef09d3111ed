"""The REST API: `create_app(config)` (api/app.py) builds a fully wired Flask app.

Layout: api/mentorship/ and api/messaging/ hold each domain's blueprints (one
per resource, named after it), its one `schemas.py` and its logic modules
(named after what they do); what both use lives here at api/ level.
"""
from api.app import create_app

__all__ = ["create_app"]
