"""Events over REST: publish from outside (service, admin) and resync.

`POST /api/v1/events` writes the event to the log in its own transaction and
publishes it after commit, exactly like events caused by API changes, so
clients that were away get it by replay. `GET /api/v1/events?after=` returns
the caller's events (its personal, audience and admin rooms and the
conversations it is in now) for a client told to `resync`.
"""
from __future__ import annotations

from api.auth import current_principal
from api.docs import Blueprint
from api.extensions import db
from api.messaging.schemas import EventIn, EventOut, EventPage, EventsQuery
from api.outbox import record
from api.paging import split_page
from shared import eventlog, rooms
from shared.auth import Principal
from shared.errors import Invalid
from shared.events import dumps

blp = Blueprint("events", __name__, url_prefix="/api/v1", description="Real-time events: publish and resync")

# The resources of the API's and the gateway's own events: clients, the activity feed and the dashboard job
# trust these to come from real changes (membership events even move sockets between rooms).
RESERVED_RESOURCES = ("relationship", "goal", "activity", "session", "dashboard", "notification", "message",
                      "conversation", "participant", "reaction", "broadcast", "presence", "auth")
MAX_DATA_CHARS = 60_000  # small for every socket; the log column (MEDIUMTEXT) holds it in any encoding


def _target_room(args: dict) -> str:
    if "to" in args:
        return rooms.personal(Principal(args["to"]["role"], args["to"]["id"]))
    return args["room"]


@blp.route("/events", methods=["POST"])
@blp.authenticated("service", "admin", service_writes=True)
@blp.arguments(EventIn)
@blp.response(201, EventOut)
def publish_event(args):
    """Log an event for a room or a principal and publish it after commit."""
    resource = args["type"].partition(":")[0]
    if resource in RESERVED_RESOURCES:
        raise Invalid(f"{resource}:* events are sent by the API's own changes only", code="reserved_type",
                      details={"type": [f"reserved: {', '.join(RESERVED_RESOURCES)}"]})
    if len(dumps(args["data"])) > MAX_DATA_CHARS:
        raise Invalid(f"data is larger than {MAX_DATA_CHARS} characters", code="event_too_large")
    envelope = record(_target_room(args), args["type"], args["data"])
    db.session.commit()
    return envelope


@blp.route("/events")
@blp.authenticated()
@blp.arguments(EventsQuery, location="query")
@blp.response(200, EventPage)
def list_events(args):
    """The caller's events after an id, oldest first (resync over REST)."""
    caller_rooms = eventlog.principal_rooms(db.session, current_principal())
    # What the caller deleted for themselves stays gone here too.
    floors = eventlog.cleared_floors(db.session, current_principal())
    events = eventlog.read_rooms_after(db.session, caller_rooms, args["after"], args["limit"] + 1, floors)
    events, more = split_page(events, args["limit"])
    last = events[-1]["id"] if events else args["after"]
    return {"events": events, "last_event_id": last, "more": more}
