"""Extension objects, created unbound and attached in create_app."""
from flask_sqlalchemy import SQLAlchemy

from shared.models import Base

db = SQLAlchemy(model_class=Base)
