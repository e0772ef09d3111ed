"""Jobs the API runs on a timer: session reminders, live dashboard updates, sweeps.

Every API process (each gunicorn worker, the dev server) runs the registered
jobs every PERIODIC_INTERVAL seconds in one background thread. A job must
claim its work in the database - a conditional UPDATE whose row count says
who won, or SELECT ... FOR UPDATE SKIP LOCKED - and write what it produces
in the same transaction as the claim, so several processes never do the
same work twice and a crash between claim and commit loses nothing.

A job is `fn(now) -> int` (how many things it did), registered with
`@periodic.job("name")` at import time of its module. Tests call
`run_due(app, now)` directly with the time they want.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from flask import Flask

from api.extensions import db
from shared.timeutil import utcnow

log = logging.getLogger("api.periodic")

Job = Callable[[dt.datetime], int]
JOBS: dict[str, Job] = {}


def job(name: str) -> Callable[[Job], Job]:
    """Register `fn(now) -> int` to run on every tick."""

    def register(fn: Job) -> Job:
        JOBS[name] = fn
        return fn

    return register


def run_due(app: Flask, now: dt.datetime | None = None) -> dict[str, int]:
    """Run every job once, each in its own transaction; what each did.
    A failing job is logged and rolled back; the others still run."""
    done: dict[str, int] = {}
    with app.app_context():
        for name, fn in list(JOBS.items()):
            try:
                done[name] = fn(now or utcnow())
                db.session.commit()
            except Exception:  # a job's bug or an outage must not stop the timer
                db.session.rollback()
                log.exception("periodic job %s failed", name)
            finally:
                db.session.remove()
    return done


def start(app: Flask) -> threading.Event | None:
    """Run the jobs in a daemon thread every `periodic_interval` seconds (0 = never);
    set the returned event to stop it."""
    interval = app.extensions["app_config"].periodic_interval
    if interval <= 0:
        return None
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            run_due(app)

    threading.Thread(target=loop, name="api-periodic", daemon=True).start()
    return stop
