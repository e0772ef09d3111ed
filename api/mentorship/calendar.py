"""The calendar feed: issue or rotate the caller's token; the .ics that calendar apps fetch with it."""
from __future__ import annotations

from flask import Response, url_for

from api.auth import current_principal
from api.docs import Blueprint
from api.extensions import db
from api.mentorship import calendar_feed
from api.mentorship.schemas import CalendarTokenOut

blp = Blueprint("calendar", __name__, url_prefix="/api/v1/calendar", description="Calendar feed (iCalendar)")


@blp.route("/token", methods=["POST"])
@blp.authenticated()
@blp.response(201, CalendarTokenOut)
def issue_calendar_token():
    """Issue the caller's feed token, or rotate it (the old URL stops working); shown only this once."""
    token, created_at = calendar_feed.issue_token(current_principal())
    db.session.commit()
    url = url_for("calendar.feed", feed_token=token, _external=True)
    return {"token": token, "url": url, "created_at": created_at}


@blp.route("/<feed_token>.ics")
@blp.doc(security=[])
@blp.response(200, {"type": "string"}, content_type="text/calendar", description="The sessions as iCalendar.")
@blp.errors(404)
def feed(feed_token):
    """The token owner's sessions as iCalendar; the token is the only credential (no Authorization header)."""
    owner = calendar_feed.feed_owner(feed_token)
    body = calendar_feed.build_feed(owner)
    return Response(body, content_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300"})
