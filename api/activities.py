"""The activity log of a relationship: append-only, written by every change
(see api/mentorship.log_activity) and by hand as notes."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import select

from api.auth import authenticated, current_principal
from api.extensions import db
from api.mentorship import activity_dict, log_activity, visible_relationship, writable_relationship
from api.relationships import PrincipalOut
from shared.models import Activity

blp = Blueprint("activities", __name__, url_prefix="/api/v1", description="Activity log of a mentorship")


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError("must not be blank")


class NoteIn(ma.Schema):
    text = ma.fields.String(required=True, validate=[ma.validate.Length(min=1, max=5000), _not_blank])


class PageQuery(ma.Schema):
    before = ma.fields.Integer(validate=ma.validate.Range(min=1))
    after = ma.fields.Integer(validate=ma.validate.Range(min=0))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100))

    @ma.validates_schema
    def _one_cursor(self, data, **kwargs):
        if "before" in data and "after" in data:
            raise ma.ValidationError("give before or after, not both", "_schema")


class ActivityOut(ma.Schema):
    id = ma.fields.Integer()
    relationship_id = ma.fields.Integer()
    actor = ma.fields.Nested(PrincipalOut)
    kind = ma.fields.String()
    text = ma.fields.String(allow_none=True)
    details = ma.fields.Dict()
    created_at = ma.fields.String()


class ActivityPage(ma.Schema):
    activities = ma.fields.List(ma.fields.Nested(ActivityOut))
    has_more = ma.fields.Boolean()


def _page(rel_id: int, query: dict) -> tuple[list[Activity], bool]:
    """Oldest first within the page: `after` reads forward, otherwise the
    newest `limit` entries (before `before`, when given). One extra row
    tells whether more lie beyond the page in the direction read."""
    stmt = select(Activity).where(Activity.relationship_id == rel_id).limit(query["limit"] + 1)
    if "after" in query:
        rows = list(db.session.execute(stmt.where(Activity.id > query["after"]).order_by(Activity.id)).scalars())
        return rows[: query["limit"]], len(rows) > query["limit"]
    if "before" in query:
        stmt = stmt.where(Activity.id < query["before"])
    rows = list(db.session.execute(stmt.order_by(Activity.id.desc())).scalars())
    return list(reversed(rows[: query["limit"]])), len(rows) > query["limit"]


@blp.route("/relationships/<int(max=2147483647):rel_id>/activities")
@authenticated
@blp.arguments(PageQuery, location="query")
@blp.response(200, ActivityPage)
def list_activities(query, rel_id):
    """One page of the log in id order (members and admins); `before`/`after` are activity ids."""
    visible_relationship(rel_id, current_principal())
    rows, has_more = _page(rel_id, query)
    return {"activities": [activity_dict(a) for a in rows], "has_more": has_more}


@blp.route("/relationships/<int(max=2147483647):rel_id>/activities", methods=["POST"])
@authenticated
@blp.arguments(NoteIn)
@blp.response(201, ActivityOut)
def add_note(body, rel_id):
    """Add a note to the log (members of an active relationship)."""
    me = current_principal()
    note = log_activity(writable_relationship(rel_id, me), me, "note", text=body["text"])
    db.session.commit()
    return activity_dict(note)
