"""The database goes away under a running worker and comes back, while the
API (which still reaches it) keeps committing: nothing is skipped, nothing
is sent twice, `/readyz` follows the outage, and the log says so once."""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests
from sqlalchemy.engine import make_url

from tests.worker.conftest import wait_until
from tests.worker.dbproxy import DatabaseProxy

OUTAGE = 4.0  # seconds


@pytest.fixture
def proxied(database_url):
    """The test database's URL through a proxy the test can cut, and the proxy."""
    url = make_url(database_url)
    proxy = DatabaseProxy(url.host or "127.0.0.1", url.port or 3306).start()
    yield url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False), proxy
    proxy.stop()


def ready(worker) -> int:
    return requests.get(f"{worker.url}/readyz", timeout=5).status_code


@pytest.mark.mysql
def test_a_database_outage_mid_run_skips_nothing_and_sends_nothing_twice(proxied, hook, publish, receiver, workers,
                                                                         client, admin):
    url, proxy = proxied
    webhook = hook()
    # The lease outlasts the outage: a send whose outcome could not be recorded keeps its row.
    worker = workers(DATABASE_URL=url, WORKER_LEASE_SECONDS="30")
    published: list[int] = []
    stop = threading.Event()

    def keep_committing():
        while not stop.is_set():
            published.extend(publish(1))
            time.sleep(0.02)

    committer = threading.Thread(target=keep_committing, daemon=True)
    committer.start()
    try:
        wait_until(lambda: len(receiver.ids()) >= 20, what="deliveries before the outage")
        proxy.cut()
        cut_at = len(published)
        wait_until(lambda: ready(worker) == 503, timeout=10, what="/readyz not ready during the outage")
        time.sleep(OUTAGE)  # the outage itself: commits go on meanwhile
        during = len(published) - cut_at
        assert ready(worker) == 503
        proxy.restore()
        wait_until(lambda: ready(worker) == 200, timeout=15, what="/readyz ready after the outage")
        restored_at = len(published)
        wait_until(lambda: len(published) > restored_at + 20, what="commits after the outage")
    finally:
        stop.set()
        committer.join(10)
    sentinel = publish(1, "notice:last")
    wait_until(lambda: sentinel[0] in receiver.ids(), timeout=60, what="the sentinel")
    # Every outcome recorded, well before a lease (30 s) could lapse and send one again.
    pending = f"/api/v1/webhooks/{webhook['id']}/deliveries?status=pending"
    wait_until(lambda: client.get(pending, headers=admin).get_json()["deliveries"] == [], timeout=15,
               what="no delivery left pending")
    assert during > 20  # messages really were committed while the worker could not read them
    assert Counter(receiver.ids()) == Counter(published + sentinel)  # each exactly once, none skipped
    assert all(r["verified"] for r in receiver.received)

    log = open(worker.log_path, encoding="utf-8").read()
    assert "Traceback" not in log
    lines = [line for line in log.splitlines() if "database unavailable" in line]
    assert len(lines) == 1, lines
    assert "Lost connection" in lines[0] or "Can't connect" in lines[0], lines[0]  # the cause, from the driver
    assert sum("database reachable again" in line for line in log.splitlines()) == 1
