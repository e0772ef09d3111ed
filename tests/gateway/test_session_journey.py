"""The sessions journey end to end: the API over HTTP, a gateway process,
a real python-socketio client. Schedule after accept, see it in the week
view and the calendar feed, get the reminder on the socket, mark attendance."""
from __future__ import annotations

import asyncio
import datetime as dt

import icalendar
import requests

from api import periodic
from shared.timeutil import utcnow
from tests.gateway.helpers import Sock, run

MENTOR = ("mentor", 41)
STUDENT = ("student", 51)


def iso(value: dt.datetime) -> str:
    return value.replace(microsecond=0).isoformat() + "Z"


def test_schedule_see_remind_attend(gateways, api, token, app, live_server):
    gateway = gateways()
    api.call("PUT", "/mentors/me/profile", MENTOR, {"skills": ["python"]}, expect=200)
    rel = api.call("POST", "/relationships", STUDENT, {"mentor_id": MENTOR[1]}, expect=201)
    api.call("POST", f"/relationships/{rel['id']}/accept", MENTOR, expect=200)
    start = (utcnow() + dt.timedelta(hours=3)).replace(microsecond=0)
    session = api.call("POST", "/sessions", MENTOR, {
        "title": "First session", "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=1)),
        "relationship_id": rel["id"], "location": "https://meet.example/first",
    }, expect=201)
    week = api.call("GET", f"/sessions?from={iso(start - dt.timedelta(days=3))}&to={iso(start + dt.timedelta(days=4))}",
                    STUDENT, expect=200)
    assert [s["id"] for s in week["sessions"]] == [session["id"]]
    feed = api.call("POST", "/calendar/token", STUDENT, expect=201)
    ics = requests.get(f"{live_server}/api/v1/calendar/{feed['token']}.ics", timeout=10)
    events = icalendar.Calendar.from_ical(ics.content).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [f"session-{session['id']}@mentorship.invalid"]
    held_start = (utcnow() - dt.timedelta(minutes=30)).replace(microsecond=0)
    held = api.call("POST", "/sessions", MENTOR, {
        "title": "Kick-off", "starts_at": iso(held_start), "ends_at": iso(held_start + dt.timedelta(hours=1)),
        "relationship_id": rel["id"],
    }, expect=201)

    async def scenario():
        student = await Sock(gateway.url).connect(token(*STUDENT))
        mentor = await Sock(gateway.url).connect(token(*MENTOR))
        try:
            await asyncio.to_thread(periodic.run_due, app, start - dt.timedelta(minutes=60))
            for sock in (student, mentor):
                got = await sock.wait_for(lambda c: c.of("session:reminder"), what="session:reminder")
                assert got[0]["data"]["id"] == session["id"] and got[0]["data"]["minutes_before"] == 60
            await student.wait_for(
                lambda c: [n for n in c.of("notification:created") if n["data"]["type"] == "session_reminder"],
                what="the reminder's notification")
            attendance = [{"principal": {"role": "student", "id": STUDENT[1]}, "status": "present"}]
            await api.a("call", "PUT", f"/sessions/{held['id']}/attendance", MENTOR, attendance, expect=200)
            got = await student.wait_for(lambda c: c.of("session:attendance"), what="session:attendance")
            assert got[0]["data"]["attendees"][0]["attendance"] == "present"
            # The job runs again (another tick, another process): the sentinel below
            # comes after anything it sent, and no second reminder came before it.
            await asyncio.to_thread(periodic.run_due, app, start - dt.timedelta(minutes=59))
            await api.a("publish", {"to": {"role": "student", "id": STUDENT[1]}}, "test:sentinel", {})
            await student.wait_for(lambda c: c.of("test:sentinel"), what="the sentinel")
            assert len(student.of("session:reminder")) == 1
        finally:
            await student.close()
            await mentor.close()

    run(scenario())
