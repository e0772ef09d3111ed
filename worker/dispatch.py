"""The worker's loop: follow the log, claim what is due, hand it to the senders.

Sends run in a thread pool (`WORKER_CONCURRENCY`), so one slow receiver holds
one thread, not the loop. The loop claims only as many deliveries as there
are idle senders, so a claimed delivery starts at once, well inside its
lease. It sleeps `WORKER_POLL_INTERVAL` between rounds unless woken: by a
send finishing, or by the API's publish on the Redis event channel (only a
wake-up: what to send is always read from the database, so a lost or forged
message changes nothing). A database error fails the round, not the process:
the next round repeats it, and an outage is one log line when it starts and
one when it ends. A send under way when the database goes finishes, and its
outcome is written once the database answers (while the lease lasts: past
it the delivery would be claimed and sent again).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from redis.exceptions import RedisError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared import eventlog, vapid
from shared.config import Config
from shared.logs import cause
from shared.models import PushSubscription
from shared.presence_lookup import PresenceLookup
from shared.timeutil import utcnow
from worker import claims, digests, push, webhooks
from worker.follower import Follower
from worker.health import Metrics

log = logging.getLogger(__name__)
GAUGE_EVERY = 5.0  # seconds between counts of pending deliveries
DIGEST_EVERY = 60.0  # seconds between looks for who is due an email digest
PATIENCE_STEP = 0.5  # seconds between tries of a delivery's reads and writes while the database is away
T = TypeVar("T")


def owner_name() -> str:
    """This process's name on the rows it claims (fits deliveries.lease_owner)."""
    return f"{socket.gethostname()[:14]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    def __init__(self, config: Config, engine: Engine, metrics: Metrics, redis_client=None):
        self.config, self.engine, self.metrics = config, engine, metrics
        self.owner = owner_name()
        # Who has a live socket (the gateways' presence in Redis; unknown without Redis).
        self.presence = PresenceLookup(redis_client, config.events_channel)
        # Web Push only with a VAPID key (`python -m shared.vapid`).
        self.vapid = vapid.load(config.vapid_private_key_file) if config.vapid_private_key_file else None
        self.follower = Follower(engine, config.worker_batch, config.worker_late_commit_window,
                                 self.presence if self.vapid is not None else None, config.push_collapse_seconds)
        self._digested = 0.0
        self._digesting = False
        self.pool = ThreadPoolExecutor(config.worker_concurrency, thread_name_prefix="worker-send")
        self.wake, self.stopping = threading.Event(), threading.Event()
        self._lock = threading.Lock()
        self.in_flight = 0
        self._gauged = 0.0

    def run(self) -> None:
        """Rounds until `stop`; then waits for the sends under way."""
        backoff = self.config.worker_poll_interval
        outage_since: float | None = None
        while not self.stopping.is_set():
            try:
                more = self.round()
                backoff = self.config.worker_poll_interval
            except SQLAlchemyError as exc:
                self.metrics.errors.inc()
                if outage_since is None:  # one line per outage, not one per round
                    outage_since = time.monotonic()
                    log.warning("database unavailable, retrying until it answers: %s", cause(exc))
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 2.0)  # back within 2 s of the database
                continue
            if outage_since is not None:
                log.info("database reachable again after %.1f s", time.monotonic() - outage_since)
                outage_since = None
            if not more:
                self.wake.wait(self.config.worker_poll_interval)
                self.wake.clear()
        self.pool.shutdown(wait=True)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def round(self) -> bool:
        """Follow the log once and start what is due; True when there is more to do right away."""
        followed = self.follower.follow()
        if not followed.locked:
            self.metrics.lag_events.set(followed.lag_events)
            self.metrics.lag_seconds.set(followed.lag_seconds)
        free = self.config.worker_concurrency - self.in_flight
        claimed = claims.claim(self.engine, self.owner, free, self.config.worker_lease_seconds) if free > 0 else []
        for item in claimed:
            with self._lock:
                self.in_flight += 1
            self.pool.submit(self._deliver, item)
        self._gauge()
        self._maybe_digest()
        return followed.events >= self.config.worker_batch or (free > 0 and len(claimed) == free)

    def _gauge(self) -> None:
        if time.monotonic() - self._gauged < GAUGE_EVERY:
            return
        self._gauged = time.monotonic()
        waiting = claims.waiting(self.engine)
        for channel in {"webhook", *waiting}:
            self.metrics.pending.labels(channel).set(waiting.get(channel, 0))

    def _deliver(self, item: claims.Claim) -> None:
        try:
            verdict = self._attempt(item)
            self._count(item.channel, verdict)
        except Exception as exc:  # noqa: BLE001 - the lease lapses and the delivery is tried again
            log.warning("delivery %s: outcome not recorded (tried again after the lease): %s", item.id, cause(exc))
        finally:
            with self._lock:
                self.in_flight -= 1
            self.wake.set()

    def _attempt(self, item: claims.Claim) -> str:
        config = self.config
        remaining = (item.leased_until - utcnow()).total_seconds()
        if remaining <= config.webhook_timeout:
            return claims.LOST  # too late to finish inside the lease: another worker may take it
        if item.channel == "push":
            return self._push(item)
        send_by = item.leased_until - dt.timedelta(seconds=config.webhook_timeout)
        request = self._patiently(lambda: claims.webhook_request(self.engine, item), send_by)
        if request is None:
            return claims.gone(self.engine, item, self.owner, "the webhook or the event no longer exists")
        url, secret, body = request
        outcome = webhooks.send(url, secret, str(item.event_id), body, config.webhook_timeout,
                                config.outbound_allow_private)
        if not outcome.ok:
            self.metrics.failed.labels(item.channel).inc()
            log.info("delivery %s to webhook %s failed (attempt %d): %s", item.id, item.target, item.attempts,
                     outcome.error)
        return self._patiently(lambda: claims.record(self.engine, item, self.owner, outcome,
                                                     config.webhook_retry_seconds), item.leased_until)

    def _patiently(self, step: Callable[[], T], deadline: dt.datetime) -> T:
        """`step()`, tried again while the database is away, until `deadline`
        (naive UTC; then the error goes up and the lease lapses)."""
        while True:
            try:
                return step()
            except SQLAlchemyError:
                if self.stopping.is_set() or utcnow() + dt.timedelta(seconds=PATIENCE_STEP) >= deadline:
                    raise
                self.stopping.wait(PATIENCE_STEP)

    def _push(self, item: claims.Claim) -> str:
        """One Web Push: the payload built again from the event (a retry sends
        what the notification says now), the subscription dropped if gone."""
        with Session(self.engine) as session:
            subscription = session.get(PushSubscription, int(item.target.split("|", 1)[0]))  # `<id>|<tag>`
            envelopes = eventlog.read_ids(session, [item.event_id])
            if subscription is None or not envelopes or self.vapid is None:
                return claims.gone(self.engine, item, self.owner, "the subscription or the event no longer exists")
            payload = push.payload_for(session, envelopes[0], subscription, utcnow())
            result = push.push_to(session, subscription, payload, self.vapid, self.config, attempts=item.attempts)
            session.commit()  # a 404/410 deleted the subscription
        if not result.sent:
            self.metrics.failed.labels(item.channel).inc()
            log.info("push %s to subscription %s failed (attempt %d): %s", item.id, item.target, item.attempts,
                     result.error)
        return self._patiently(lambda: claims.record_push(self.engine, item, self.owner, result.status, result.sent,
                                                          result.retry_after, result.error), item.leased_until)

    def _maybe_digest(self) -> None:
        """Every DIGEST_EVERY seconds (with SMTP_URL), the due email digests, on a sender thread."""
        if not self.config.smtp_url or self._digesting or time.monotonic() - self._digested < DIGEST_EVERY:
            return
        self._digested, self._digesting = time.monotonic(), True
        self.pool.submit(self._digests)

    def _digests(self) -> None:
        try:
            with Session(self.engine) as session:
                for _, result in digests.send_due_digests(session, utcnow(), self.config, self.presence):
                    (self.metrics.sent if result.sent else self.metrics.failed).labels("email").inc()
        except Exception as exc:  # noqa: BLE001 - the next look tries again
            log.warning("email digests: %s", cause(exc))
        finally:
            self._digesting = False

    def _count(self, channel: str, verdict: str) -> None:
        counter = {claims.SENT: self.metrics.sent, claims.RETRY: self.metrics.retried,
                   claims.PARKED: self.metrics.parked}.get(verdict)
        if counter is not None:
            counter.labels(channel).inc()


def listen_for_commits(url: str, channel: str, dispatcher: Dispatcher) -> None:
    """Wake the dispatcher on every batch the API publishes; reconnect after a Redis outage."""
    import redis

    away = False
    while not dispatcher.stopping.is_set():
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=30)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(channel)
            dispatcher.wake.set()  # catch up on what was published while away
            if away:
                log.info("Redis wake-ups back")
                away = False
            while not dispatcher.stopping.is_set():
                if pubsub.get_message(timeout=1.0):
                    dispatcher.wake.set()
        except (RedisError, OSError) as exc:
            if not away:  # one line per outage
                log.warning("Redis wake-ups unavailable (polling meanwhile): %s", cause(exc))
                away = True
            dispatcher.stopping.wait(2.0)
