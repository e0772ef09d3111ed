"""WSGI entry point for gunicorn: `gunicorn api.wsgi:app`."""
from api import create_app
from shared.logs import configure_logging

configure_logging("api")

app = create_app()
