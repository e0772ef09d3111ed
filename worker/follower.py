"""Following the event log: turn each new event into the deliveries it causes.

One transaction per round: lock the cursor row (`FOR UPDATE SKIP LOCKED`, so
while one worker expands the others skip this step and only send), read the
events after it in id order, insert a Delivery per matching webhook and per
Web Push the batch's notifications call for (`worker.push.plan_pushes`:
collapsed per conversation, to people with no live socket, as their
preferences allow), advance the cursor. The deliveries and the cursor commit together, so a crash or an
outage at any point repeats a round or nothing, never skips one.

Ids are handed out at insert and become visible at commit, so id 41 can
appear after 42. The cursor stops before a missing id until the event after
the gap is older than the late-commit window (then the missing ids are taken
for rolled-back inserts), as the gateway's log reader does.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared import eventlog
from shared.models import Delivery, Event, Webhook, WorkerCursor
from shared.presence_lookup import PresenceLookup
from shared.timeutil import utcnow
from worker import push

CURSOR = "deliveries"
WEBHOOK, PUSH = "webhook", "push"


@dataclass(frozen=True)
class Round:
    """What one round did, and how far behind the log the cursor is."""

    events: int = 0
    queued: int = 0
    lag_events: int = 0
    lag_seconds: float = 0.0
    locked: bool = False  # another worker holds the cursor


def _cursor(conn: Connection) -> int | None:
    query = select(WorkerCursor.last_event_id).where(WorkerCursor.name == CURSOR).with_for_update(skip_locked=True)
    return conn.execute(query).scalar()


def _start(engine: Engine) -> None:
    """The first worker ever starts at the log's end (or at the oldest
    webhook's start, if one was registered before any worker ran)."""
    with engine.begin() as conn:
        end = conn.execute(select(func.max(Event.id))).scalar() or 0
        oldest = conn.execute(select(func.min(Webhook.after_event_id))).scalar()
        start = end if oldest is None else min(end, oldest)
        try:
            conn.execute(insert(WorkerCursor).values(name=CURSOR, last_event_id=start, updated_at=utcnow()))
        except IntegrityError:
            pass  # another worker made it first


def accepted(rows: list[Any], after: int, now: dt.datetime, window: float) -> list[Any]:
    """The leading rows the cursor may pass: in order, with a gap accepted only
    once the event after it is older than `window` seconds."""
    horizon = now - dt.timedelta(seconds=window)
    kept, expected = [], after + 1
    for row in rows:
        if row.id != expected and row.created_at > horizon:
            break
        kept.append(row)
        expected = row.id + 1
    return kept


def _matches(webhook: Any, event: Any) -> bool:
    return event.id > webhook.after_event_id and ("*" in webhook.types or event.type in webhook.types)


class Follower:
    """Follows the log for one worker process, `batch` events a round."""

    def __init__(self, engine: Engine, batch: int, window: float, presence: PresenceLookup | None = None,
                 collapse_seconds: float = 2.0):
        """`presence`: who has a live socket, for Web Push; None = push is off."""
        self.engine, self.batch, self.window, self.presence = engine, batch, window, presence
        self.collapse = dt.timedelta(seconds=collapse_seconds)
        self.started = False

    def follow(self) -> Round:
        """One round: queue the deliveries of up to `batch` new events."""
        if not self.started:
            with self.engine.connect() as conn:
                found = conn.execute(select(WorkerCursor.name).where(WorkerCursor.name == CURSOR)).first()
            self.started = found is not None
            if not self.started:
                _start(self.engine)
                self.started = True
        with self.engine.begin() as conn:
            cursor = _cursor(conn)
            if cursor is None:
                return Round(locked=True)
            return self._expand(conn, cursor)

    def _pushes(self, conn: Connection, kept: list[Any], now: dt.datetime) -> list[dict]:
        """The push deliveries of these events (only the notification events are read in full).

        A burst collapses: a push waits `collapse` before it may be sent, and
        while it waits, a later notification of the same conversation for the
        same device takes its place (the delivery's event moves on) instead of
        queueing another. Its target is `<subscription id>|<tag>`."""
        ids = [event.id for event in kept if event.type in push.NOTIFICATION_EVENTS]
        if self.presence is None or not ids:
            return []
        envelopes = {e["id"]: e for e in eventlog.read_ids(conn, ids)}
        planned = push.plan_pushes(Session(bind=conn), list(envelopes.values()), self.presence, now)
        types = {event.id: event.type for event in kept}
        fresh = []
        for p in planned:
            target = f"{p.subscription.id}|{push.tag_of(envelopes[p.event_id]['data'])}"[:64]
            waiting = conn.execute(
                update(Delivery)
                .where(Delivery.channel == PUSH, Delivery.target == target, Delivery.status == "pending",
                       Delivery.attempts == 0, Delivery.leased_until.is_(None))
                .values(event_id=p.event_id, event_type=types[p.event_id])
            )
            if waiting.rowcount == 0:
                fresh.append({"event_id": p.event_id, "event_type": types[p.event_id], "channel": PUSH,
                              "target": target, "status": "pending", "attempts": 0,
                              "next_attempt_at": now + self.collapse, "created_at": now})
        return fresh

    def _expand(self, conn: Connection, cursor: int) -> Round:
        now = utcnow()
        rows = conn.execute(
            select(Event.id, Event.type, Event.created_at).where(Event.id > cursor).order_by(Event.id).limit(self.batch)
        ).all()
        kept = accepted(rows, cursor, now, self.window)
        webhooks = conn.execute(select(Webhook.id, Webhook.types, Webhook.after_event_id)).all() if kept else []
        queued = [
            {"event_id": event.id, "event_type": event.type, "channel": WEBHOOK, "target": str(hook.id),
             "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
            for event in kept for hook in webhooks if _matches(hook, event)
        ]
        queued += self._pushes(conn, kept, now)
        if queued:
            conn.execute(insert(Delivery), queued)
        if kept:
            cursor = kept[-1].id
            conn.execute(update(WorkerCursor).where(WorkerCursor.name == CURSOR)
                         .values(last_event_id=cursor, updated_at=now))
        end = conn.execute(select(func.max(Event.id))).scalar() or 0
        # The age of the oldest event not passed yet (held at a gap, or in the next batch).
        waiting = rows[len(kept)] if len(kept) < len(rows) else (kept[-1] if end > cursor else None)
        lag_seconds = (now - waiting.created_at).total_seconds() if waiting is not None else 0.0
        return Round(len(kept), len(queued), max(0, end - cursor), max(0.0, lag_seconds))
