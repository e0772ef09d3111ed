"""Session reminders: each recipient gets each reminder exactly once, with
several processes running the job at once, across a restart, and again for a
new time when the session moves."""
from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import select

from api import create_app, periodic
from api.extensions import db
from shared.config import Config, ConfigError
from shared.models import Event, Notification, SessionReminder
from tests.mentorship.conftest import MENTOR
from tests.mentorship.session_helpers import at, rows, schedule, wire


def reminders(app):
    """(room, minutes_before, session id) of every session:reminder event logged."""
    found = rows(app, select(Event.room, Event.data).where(Event.type == "session:reminder").order_by(Event.id))
    return [(room, json.loads(data)["minutes_before"], json.loads(data)["id"]) for room, data in found]


def reminder_notifications(app):
    stmt = select(Notification.recipient_role, Notification.recipient_id, Notification.data).where(
        Notification.type == "session_reminder").order_by(Notification.id)
    return [(role, pid, data["minutes_before"]) for role, pid, data in rows(app, stmt)]


def minus(start, minutes):
    return start - dt.timedelta(minutes=minutes)


def test_each_reminder_goes_out_once_to_host_and_attendees(api, app):
    start = at(hours=3)
    created = schedule(api, api.active(), start)
    periodic.run_due(app, minus(start, 61))
    assert reminders(app) == []
    periodic.run_due(app, minus(start, 60))
    assert sorted(reminders(app)) == [("mentor:11", 60, created["id"]), ("student:21", 60, created["id"])]
    periodic.run_due(app, minus(start, 30))
    assert len(reminders(app)) == 2
    periodic.run_due(app, minus(start, 9))
    assert sorted(r[:2] for r in reminders(app)) == [("mentor:11", 10), ("mentor:11", 60),
                                                     ("student:21", 10), ("student:21", 60)]
    assert sorted(reminder_notifications(app)) == [("mentor", 11, 10), ("mentor", 11, 60),
                                                   ("student", 21, 10), ("student", 21, 60)]
    notified = rows(app, select(Event.room).where(Event.type == "notification:created", Event.data.like(
        '%"session_reminder"%')))
    assert len(notified) == 4  # each notification has its live event


def test_processes_running_the_job_at_once_send_each_reminder_once(api, app, config):
    """Four app instances (as four API processes) run the job at the same moment, twice."""
    start = at(hours=3)
    rel = api.active()
    ids = [schedule(api, rel, start + dt.timedelta(minutes=15 * i), hours=0.2)["id"] for i in range(4)]
    apps = [create_app(config) for _ in range(4)]
    barrier = threading.Barrier(len(apps))
    now = minus(start, 15)  # the 60-minute reminder of each of the four is due, no 10-minute one yet

    def tick(instance):
        barrier.wait(timeout=10)
        periodic.run_due(instance, now)

    try:
        for _ in range(2):
            threads = [threading.Thread(target=tick, args=(a,), daemon=True) for a in apps]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
    finally:
        for instance in apps:
            with instance.app_context():
                db.engine.dispose()
    expected = [(room, 60, sid) for sid in ids for room in ("mentor:11", "student:21")]
    assert sorted(reminders(app)) == sorted(expected)
    assert len(reminder_notifications(app)) == 8


def test_a_restart_does_not_resend(api, app, config):
    start = at(hours=3)
    schedule(api, api.active(), start)
    periodic.run_due(app, minus(start, 60))
    assert len(reminders(app)) == 2
    fresh = create_app(config)  # a new process after a restart
    try:
        periodic.run_due(fresh, minus(start, 59))
    finally:
        with fresh.app_context():
            db.engine.dispose()
    assert len(reminders(app)) == 2


def test_a_session_moved_later_gets_new_reminders(api, app):
    start = at(hours=3)
    created = schedule(api, api.active(), start)
    periodic.run_due(app, minus(start, 60))
    later = at(hours=6)
    api.ok(api.patch(f"/sessions/{created['id']}", MENTOR,
                     json={"starts_at": wire(later), "ends_at": wire(later + dt.timedelta(hours=1))}))
    periodic.run_due(app, minus(start, 9))  # the old 10-minute time: nothing is due any more
    assert len(reminders(app)) == 2
    periodic.run_due(app, minus(later, 60))
    assert [r[1] for r in reminders(app)] == [60, 60, 60, 60]
    assert {sid for _, _, sid in reminders(app)} == {created["id"]}


def test_a_cancelled_or_completed_session_reminds_nobody(api, app):
    start = at(hours=3)
    rel = api.active()
    cancelled = schedule(api, rel, start)
    api.ok(api.post(f"/sessions/{cancelled['id']}/cancel", MENTOR, json={"reason": "off"}))
    periodic.run_due(app, minus(start, 10))
    assert reminders(app) == []


@pytest.mark.parametrize("minutes_late, expected", [
    (5, [10]),  # down across both reminder times: only the latest goes out, late
    (-1, []),  # back after the start: nothing (a reminder after the fact helps nobody)
])
def test_overdue_reminders_after_downtime(api, app, minutes_late, expected):
    start = at(hours=3)
    schedule(api, api.active(), start)
    periodic.run_due(app, minus(start, minutes_late))
    assert sorted({r[1] for r in reminders(app)}) == expected
    assert len(reminders(app)) == 2 * len(expected)
    periodic.run_due(app, start + dt.timedelta(minutes=5))
    assert len(reminders(app)) == 2 * len(expected)
    outcomes = rows(app, select(SessionReminder.minutes_before, SessionReminder.outcome))
    assert sorted(outcomes) == sorted([(10, "sent" if expected else "skipped"), (60, "skipped")])


def test_a_session_placed_closer_than_a_reminder_offset_gets_only_the_later_ones(api, app):
    start = at(minutes=30)
    schedule(api, api.active(), start)
    assert rows(app, select(SessionReminder.minutes_before)) == [(10,)]
    periodic.run_due(app, minus(start, 10))
    assert {(room, m) for room, m, _ in reminders(app)} == {("mentor:11", 10), ("student:21", 10)}


def test_the_offsets_come_from_the_setting(api, app, config):
    config.session_reminder_minutes = [1440, 30, 5]
    start = at(hours=48)
    schedule(api, api.active(), start)
    assert sorted(m for (m,) in rows(app, select(SessionReminder.minutes_before))) == [5, 30, 1440]


def test_the_setting_is_read_and_checked():
    env = {"DATABASE_URL": "sqlite:///x.db"}
    assert Config.from_env(env).session_reminder_minutes == [60, 10]
    spaced = Config.from_env({**env, "SESSION_REMINDER_MINUTES": " 5, 1440 ,30"})
    assert spaced.session_reminder_minutes == [1440, 30, 5]
    for bad in ("0", "ten", "60,60", "10081", "-5", "١٠"):
        with pytest.raises(ConfigError, match="SESSION_REMINDER_MINUTES"):
            Config.from_env({**env, "SESSION_REMINDER_MINUTES": bad})
