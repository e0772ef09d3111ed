"""The calendar feed: a secret, rotatable token in the URL; the caller's sessions as iCalendar, parsed back."""
from __future__ import annotations

import datetime as dt

import icalendar
from sqlalchemy import select

from shared.models import CalendarFeed
from tests.mentorship.conftest import MENTOR, OTHER_STUDENT, STUDENT
from tests.mentorship.session_helpers import at, body, rows, schedule

UTC = dt.timezone.utc


def feed_path(api, who):
    issued = api.ok(api.post("/calendar/token", who), 201)
    assert issued["url"].endswith(f"/api/v1/calendar/{issued['token']}.ics")
    return issued["token"], f"/api/v1/calendar/{issued['token']}.ics"


def fetch(client, path):
    """As a calendar app would: no Authorization header."""
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.data)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_a_calendar_app_sees_the_sessions_with_stable_uids_and_cancellations(api, client):
    rel = api.active()
    start = at(hours=72)
    payload = body(start, relationship_id=rel["id"], location="https://meet.example/x", description="Agenda")
    payload["starts_at"] = (start + dt.timedelta(hours=2)).isoformat() + "+02:00"  # the same instant, written in UTC+2
    created = api.ok(api.post("/sessions", MENTOR, json=payload), 201)
    other = schedule(api, rel, at(hours=100))
    _, path = feed_path(api, STUDENT)
    events = fetch(client, path)
    uid = f"session-{created['id']}@mentorship.invalid"
    assert set(events) == {uid, f"session-{other['id']}@mentorship.invalid"}
    event = events[uid]
    assert event.decoded("DTSTART") == start.replace(tzinfo=UTC)
    assert event.decoded("DTEND") == (start + dt.timedelta(hours=1)).replace(tzinfo=UTC)
    assert event["DTSTART"].to_ical().endswith(b"Z")  # UTC, no floating time
    assert (str(event["SUMMARY"]), str(event["LOCATION"]), str(event["DESCRIPTION"])) == (
        "Weekly check-in", "https://meet.example/x", "Agenda")
    assert (str(event["STATUS"]), int(event["SEQUENCE"])) == ("CONFIRMED", 0)
    assert "DTSTAMP" in event

    api.ok(api.post(f"/sessions/{created['id']}/cancel", MENTOR, json={"reason": "holiday"}))
    event = fetch(client, path)[uid]  # same UID on the next fetch: the app updates its copy
    assert (str(event["STATUS"]), int(event["SEQUENCE"])) == ("CANCELLED", 1)
    assert str(event["DESCRIPTION"]).startswith("Cancelled: holiday")

    _, mentor_path = feed_path(api, MENTOR)
    assert set(fetch(client, mentor_path)) == set(events)
    _, outsider_path = feed_path(api, OTHER_STUDENT)
    assert fetch(client, outsider_path) == {}


def test_rotating_the_token_retires_the_old_url_and_only_a_hash_is_stored(api, client, app):
    old_token, old = feed_path(api, STUDENT)
    new_token, new = feed_path(api, STUDENT)
    assert old_token != new_token
    gone = client.get(old)
    assert (gone.status_code, gone.get_json()["error"]["code"]) == (404, "calendar_not_found")
    assert client.get(new).status_code == 200
    stored = rows(app, select(CalendarFeed.token_hash))
    assert len(stored) == 1 and new_token not in stored[0][0] and len(stored[0][0]) == 64


def test_unknown_and_malformed_tokens_are_404(client):
    for token in ("x" * 43, "short", "a" * 500, "%00" * 10, "é" * 43):
        response = client.get(f"/api/v1/calendar/{token}.ics")
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] in ("calendar_not_found", "not_found")


def test_a_bearer_token_is_not_a_feed_token(client, token):
    response = client.get(f"/api/v1/calendar/{token(*STUDENT)}.ics")
    assert response.status_code == 404
