"""WSGI entry point for gunicorn: `gunicorn api.wsgi:app`."""
from api import create_app, periodic
from shared.logs import configure_logging

configure_logging("api")

app = create_app()
# Each worker runs the periodic jobs; they claim their work in the database (api/periodic.py).
periodic.start(app)
