"""At least once, exactly once after dedupe by webhook-id: a worker killed
mid-run (SIGKILL) and started again, and two workers sharing the load."""
from __future__ import annotations

from collections import Counter

import pytest

from tests.worker.conftest import wait_until


def test_a_killed_worker_restarted_delivers_everything_once_after_dedupe(hook, publish, receiver, workers):
    hook()
    receiver.delay = 0.02
    ids = publish(150)
    first = workers(WORKER_CONCURRENCY="4")
    wait_until(lambda: len(receiver.ids()) >= 30, what="some deliveries")
    first.kill()  # SIGKILL: claimed rows stay leased, some sent but not recorded
    assert len(set(receiver.ids())) < len(ids)
    more = publish(50)  # committed while no worker runs
    workers(WORKER_CONCURRENCY="4")
    wait_until(lambda: set(receiver.ids()) == set(ids + more), timeout=60, what="every event")
    assert all(r["verified"] for r in receiver.received)
    # A duplicate is the same request again: same webhook-id, same body.
    bodies = {}
    for r in receiver.received:
        assert bodies.setdefault(r["id"], r["body"]) == r["body"]
    duplicates = sum(n - 1 for n in Counter(receiver.ids()).values())
    assert duplicates <= 4  # at most what was in flight at the kill (WORKER_CONCURRENCY)


@pytest.mark.mysql
def test_two_workers_never_send_one_delivery_twice(hook, publish, receiver, workers):
    hook()
    receiver.delay = 0.01
    one, two = workers(WORKER_CONCURRENCY="3"), workers(WORKER_CONCURRENCY="3")
    ids = publish(300)
    wait_until(lambda: len(receiver.ids()) >= len(ids), timeout=90, what="every event")
    sentinel = publish(1, "notice:last")
    wait_until(lambda: sentinel[0] in receiver.ids(), what="the sentinel")
    assert Counter(receiver.ids()) == Counter(ids + sentinel)  # each exactly once
    # Counted once the outcome is recorded, just after the receiver answered.
    wait_until(lambda: sum(w.metric("worker_deliveries_sent_total") for w in (one, two)) == 301, 10,
               what="every delivery counted as sent once")
