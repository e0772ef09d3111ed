"""Extension objects, created unbound and attached in create_app."""
from flask_sqlalchemy import SQLAlchemy

from shared.models import Base

# A session lives for one request: views commit, then return the rows they
# changed for the response schema to dump. Expiring the rows at commit would
# make that dump re-read every row (one SELECT each) for values just written.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
