"""Events over REST: publish from outside (service, admin) and resync.

`POST /api/v1/events` writes the event to the log in its own transaction and
publishes it after commit, exactly like events caused by API changes, so
clients that were away get it by replay. `GET /api/v1/events?after=` returns
the caller's events (its personal, audience and admin rooms and the
conversations it is in now) for a client told to `resync`.
"""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import validate

from api.auth import authenticated, current_principal, require_roles
from api.extensions import db
from api.outbox import request_id
from shared import eventlog, rooms
from shared.auth import Principal
from shared.errors import Invalid
from shared.events import dumps, record_event

blp = Blueprint("events", __name__, url_prefix="/api/v1", description="Real-time events: publish and resync")

TYPE_PATTERN = r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$"
# These move sockets between rooms on the gateway: only the API's own changes send them.
MEMBERSHIP_TYPES = {"conversation:created", "participant:added", "participant:removed"}
MAX_DATA_CHARS = 60_000  # the log column is TEXT (64 KB)
_NAMED_ROOMS = "|".join([rooms.ADMINS, *rooms.AUDIENCE_ROOMS.values()])
ROOM_PATTERN = rf"^({_NAMED_ROOMS}|(conversation|mentor|student|admin|service):[1-9][0-9]{{0,18}})$"


class PrincipalTo(ma.Schema):
    role = ma.fields.String(required=True, validate=validate.OneOf(["mentor", "student", "admin", "service"]))
    id = ma.fields.Integer(required=True, strict=True, validate=validate.Range(1, 2**31 - 1))


class EventIn(ma.Schema):
    room = ma.fields.String(validate=validate.Regexp(ROOM_PATTERN, error="not a room name"))
    to = ma.fields.Nested(PrincipalTo)
    type = ma.fields.String(
        required=True,
        validate=[validate.Length(max=64), validate.Regexp(TYPE_PATTERN, error="type is `resource:verb`")],
    )
    data = ma.fields.Dict(load_default=dict)

    @ma.validates_schema
    def one_target(self, values, **kwargs):
        if ("room" in values) == ("to" in values):
            raise ma.ValidationError("give exactly one of `room` or `to`", "room")


class EventsQuery(ma.Schema):
    after = ma.fields.Integer(load_default=0, validate=validate.Range(0, 2**63 - 1))
    limit = ma.fields.Integer(load_default=100, validate=validate.Range(1, 1000))


def _target_room(args: dict) -> str:
    if "to" in args:
        return rooms.personal(Principal(args["to"]["role"], args["to"]["id"]))
    return args["room"]


@blp.route("/events", methods=["POST"])
@blp.arguments(EventIn)
@blp.response(201)
@require_roles("service", "admin")
def publish_event(args):
    """Log an event for a room or a principal and publish it after commit."""
    if args["type"] in MEMBERSHIP_TYPES:
        raise Invalid(f"{args['type']} is sent by the API's own changes only", code="event_type_reserved")
    if len(dumps(args["data"])) > MAX_DATA_CHARS:
        raise Invalid(f"data is larger than {MAX_DATA_CHARS} characters", code="event_too_large")
    envelope = record_event(db.session, _target_room(args), args["type"], args["data"], request_id=request_id())
    db.session.commit()
    return envelope


@blp.route("/events")
@blp.arguments(EventsQuery, location="query")
@blp.response(200)
@authenticated
def list_events(args):
    """The caller's events after an id, oldest first (resync over REST)."""
    caller_rooms = eventlog.principal_rooms(db.session, current_principal())
    events = eventlog.read_rooms_after(db.session, caller_rooms, args["after"], args["limit"] + 1)
    more = len(events) > args["limit"]
    events = events[: args["limit"]]
    last = events[-1]["id"] if events else args["after"]
    return {"events": events, "last_event_id": last, "more": more}
