"""Session reminders: the periodic job that sends each due reminder exactly once.

`session_reminders` holds one row per session and SESSION_REMINDER_MINUTES
offset (api/mentorship/scheduling.py arms and disarms them). Every tick of
every API process selects due rows, then claims each with a conditional
UPDATE (`sent_at` set where it is still NULL): on MariaDB a second claimant
waits for the first's row lock and then matches nothing, on SQLite writers
are serialised. The events and notifications are written in the claim's
transaction, so a crash before commit leaves the reminder to the next tick,
and a committed one is never sent again (also after a restart).

Late reminders (the API was down at their time): one that comes due before
the session starts is sent once, late; one whose session has started is
skipped; when several of a session's reminders are due at once only the
latest (the fewest minutes before) is sent, the earlier ones are skipped.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from api import periodic
from api.extensions import db
from api.mentorship import scheduling
from api.messaging.notifying import notify_many
from api.outbox import record
from shared import rooms
from shared.models import Session, SessionReminder

BATCH = 200  # reminders handled per tick and process; the rest wait for the next tick


def _claim(reminder_id: int, now: dt.datetime, outcome: str) -> bool:
    claimed = db.session.execute(
        update(SessionReminder)
        .where(SessionReminder.id == reminder_id, SessionReminder.sent_at.is_(None))
        .values(sent_at=now, outcome=outcome)
    )
    return claimed.rowcount == 1


def _send(session: Session, minutes: int) -> None:
    rows = scheduling.attendee_rows(session.id)
    data = {**scheduling.session_data(session, rows), "minutes_before": minutes}
    title = f"Session in {minutes} minute{'' if minutes == 1 else 's'}: {session.title}"
    everyone = scheduling.recipients(session, rows)
    for person in everyone:
        record(rooms.personal(person), "session:reminder", data, flush=False)
    notify_many(everyone, "session_reminder", title, link=f"/sessions/{session.id}",
                data={"session_id": session.id, "minutes_before": minutes}, defer_event=True)


@periodic.job("session_reminders")
def send_due_reminders(now: dt.datetime) -> int:
    """Claim and send the reminders due by `now`; how many were sent."""
    due = (
        select(SessionReminder.id, SessionReminder.session_id, SessionReminder.minutes_before)
        .join(Session, Session.id == SessionReminder.session_id)
        .where(SessionReminder.sent_at.is_(None), SessionReminder.due_at <= now, Session.status == "scheduled")
        .order_by(SessionReminder.due_at, SessionReminder.id)
        .limit(BATCH)
    )
    rows = db.session.execute(due).all()
    if not rows:
        return 0
    session_ids = {session_id for _, session_id, _ in rows}
    nearest = dict(db.session.execute(
        select(SessionReminder.session_id, func.min(SessionReminder.minutes_before))
        .where(SessionReminder.session_id.in_(session_ids), SessionReminder.sent_at.is_(None),
               SessionReminder.due_at <= now)
        .group_by(SessionReminder.session_id)
    ).all())
    sessions = {s.id: s for s in db.session.execute(select(Session).where(Session.id.in_(session_ids))).scalars()}
    sent = 0
    for reminder_id, session_id, minutes in rows:
        session = sessions[session_id]
        late = session.starts_at <= now or minutes != nearest.get(session_id)
        if _claim(reminder_id, now, "skipped" if late else "sent") and not late:
            _send(session, minutes)
            sent += 1
    return sent
