"""Claiming due deliveries and recording how each attempt went.

A claim takes due pending rows with `SELECT ... FOR UPDATE SKIP LOCKED`
(rows another worker is claiming at that moment are skipped, not waited
for), stamps them with this worker's id and a lease, and commits before
anything is sent. So two workers never hold one delivery; a worker that dies
leaves its rows to be taken over once the lease passes (at least once: the
receiver dedupes by `webhook-id`). An outcome is written only while the row
is still this worker's.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Engine

from shared import eventlog
from shared.events import dumps
from shared.models import Delivery, Webhook
from shared.timeutil import utcnow
from worker.webhooks import Outcome

# What the outcome of an attempt made of a delivery.
SENT, RETRY, PARKED, LOST = "sent", "retry", "parked", "lost"


@dataclass(frozen=True)
class Claim:
    id: int
    event_id: int
    channel: str
    target: str
    attempts: int  # including this one
    leased_until: dt.datetime


def claim(engine: Engine, owner: str, limit: int, lease_seconds: float) -> list[Claim]:
    """Up to `limit` due deliveries, now leased to `owner` (oldest due first)."""
    with engine.begin() as conn:
        now = utcnow()
        due = and_(Delivery.status == "pending", Delivery.next_attempt_at <= now,
                   or_(Delivery.leased_until.is_(None), Delivery.leased_until < now))
        rows = conn.execute(
            select(Delivery.id, Delivery.event_id, Delivery.channel, Delivery.target, Delivery.attempts)
            .where(due).order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return []
        until = now + dt.timedelta(seconds=lease_seconds)
        conn.execute(update(Delivery).where(Delivery.id.in_([row.id for row in rows]))
                     .values(lease_owner=owner, leased_until=until, attempts=Delivery.attempts + 1))
        return [Claim(row.id, row.event_id, row.channel, row.target, row.attempts + 1, until) for row in rows]


def webhook_request(engine: Engine, item: Claim) -> tuple[str, str, str] | None:
    """(url, secret, envelope JSON) of a webhook delivery; None when the
    webhook or the event is gone (deleted, pruned)."""
    with engine.connect() as conn:
        hook = conn.execute(select(Webhook.url, Webhook.secret).where(Webhook.id == int(item.target))).first()
        envelopes = eventlog.read_ids(conn, [item.event_id])
    if hook is None or not envelopes:
        return None
    return hook.url, hook.secret, dumps(envelopes[0])


def record(engine: Engine, item: Claim, owner: str, outcome: Outcome, schedule: list[float]) -> str:
    """Write the attempt's outcome if the row is still ours: sent, pending again
    after the schedule's next delay, or failed (parked) when the schedule is spent."""
    now = utcnow()
    values: dict = {"lease_owner": None, "leased_until": None, "last_status_code": outcome.status_code,
                    "last_error": outcome.error}
    if outcome.ok:
        verdict = SENT
        values.update(status="sent", delivered_at=now, last_error=None)
    elif item.attempts <= len(schedule):
        verdict = RETRY
        values.update(next_attempt_at=now + dt.timedelta(seconds=schedule[item.attempts - 1]))
    else:
        verdict = PARKED
        values.update(status="failed")
    with engine.begin() as conn:
        done = conn.execute(update(Delivery).where(Delivery.id == item.id, Delivery.lease_owner == owner,
                                                   Delivery.status == "pending").values(**values))
    return verdict if done.rowcount == 1 else LOST


def gone(engine: Engine, item: Claim, owner: str, reason: str) -> str:
    """Park a delivery whose webhook or event no longer exists."""
    return record(engine, item, owner, Outcome(False, error=reason), [])


def waiting(engine: Engine) -> dict[str, int]:
    """Pending deliveries per channel (a gauge)."""
    with engine.connect() as conn:
        rows = conn.execute(select(Delivery.channel, func.count()).where(Delivery.status == "pending")
                            .group_by(Delivery.channel)).all()
    return {channel: count for channel, count in rows}


# A push is tried this many times (the push service's Retry-After, or backoff, between them).
PUSH_ATTEMPTS = 8


def record_push(engine: Engine, item: Claim, owner: str, status: int | None, sent: bool, retry_after: float | None,
                error: str | None) -> str:
    """`record` for a push: retried after the push service's `retry_after`
    (429, 5xx, unreachable) up to PUSH_ATTEMPTS, parked when refused for good or gone."""
    retrying = not sent and retry_after is not None and item.attempts < PUSH_ATTEMPTS
    schedule = [retry_after or 0.0] * item.attempts if retrying else []
    return record(engine, item, owner, Outcome(sent, status, error), schedule)
