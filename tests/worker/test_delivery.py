"""The worker as a real process: signed deliveries of events committed over
REST, retries with backoff, parking, and what /healthz, /readyz and /metrics say."""
from __future__ import annotations

import requests

from tests.worker.conftest import wait_until


def test_a_message_sent_over_rest_arrives_signed(client, auth, hook, receiver, workers):
    webhook = hook(["message:created"])
    workers()
    mentor, student = auth("mentor", 1), auth("student", 2)
    client.put("/api/v1/mentors/me/profile", json={"skills": ["python"]}, headers=mentor)
    requested = client.post("/api/v1/relationships", json={"mentor_id": 1}, headers=student).get_json()
    assert client.post(f"/api/v1/relationships/{requested['id']}/accept", headers=mentor).status_code == 200
    conversation = client.get("/api/v1/conversations", headers=mentor).get_json()["conversations"][0]["id"]
    sent = client.post(f"/api/v1/conversations/{conversation}/messages", json={"body": "hello ✓"},
                       headers=mentor).get_json()
    wait_until(lambda: receiver.received, 60, what="the delivery")
    (delivery,) = receiver.received  # only message:created, not the relationship's events
    assert delivery["verified"] and delivery["path"] == "/hooks/mentorship"
    envelope = receiver.envelopes()[0]
    assert envelope["type"] == "message:created" and envelope["data"]["id"] == sent["id"]
    assert envelope["data"]["body"] == "hello ✓"
    assert delivery["id"] == str(envelope["id"])  # webhook-id is the event id
    listed = client.get(f"/api/v1/webhooks/{webhook['id']}/deliveries", headers=auth("admin", 1)).get_json()
    wait_until(lambda: client.get(f"/api/v1/webhooks/{webhook['id']}/deliveries",
                                  headers=auth("admin", 1)).get_json()["deliveries"][0]["status"] == "sent",
               what="the delivery recorded as sent")
    listed = client.get(f"/api/v1/webhooks/{webhook['id']}/deliveries", headers=auth("admin", 1)).get_json()
    (row,) = listed["deliveries"]
    assert row["event_id"] == envelope["id"] and row["attempts"] == 1 and row["last_status_code"] == 200
    assert row["next_attempt_at"] is None and row["delivered_at"]


def test_failed_attempts_are_retried_then_sent(hook, publish, receiver, workers):
    hook()
    receiver.plan = [500, 503]
    worker = workers()
    (event_id,) = publish(1)
    wait_until(lambda: receiver.ids() == [event_id], what="the third attempt")
    assert [r["status"] for r in receiver.received] == [500, 503, 200]
    assert all(r["verified"] and r["id"] == str(event_id) for r in receiver.received)
    wait_until(lambda: worker.metric("worker_deliveries_sent_total") == 1, what="the sent count")
    assert worker.metric("worker_deliveries_failed_total") == 2
    assert worker.metric("worker_deliveries_retried_total") == 2


def test_after_the_schedule_a_delivery_is_parked_and_retried_by_hand(client, admin, hook, publish, receiver,
                                                                     workers):
    webhook = hook()
    receiver.plan = [500] * 4  # the first try and the schedule's three retries
    worker = workers()
    (event_id,) = publish(1)
    url = f"/api/v1/webhooks/{webhook['id']}/deliveries"
    wait_until(lambda: client.get(url + "?status=failed", headers=admin).get_json()["deliveries"], what="parking")
    (parked,) = client.get(url + "?status=failed", headers=admin).get_json()["deliveries"]
    assert parked["attempts"] == 4 and parked["last_status_code"] == 500
    assert parked["last_error"] == "HTTP 500 Internal Server Error" and parked["next_attempt_at"] is None
    assert client.get(url + "?status=pending", headers=admin).get_json()["deliveries"] == []
    assert worker.metric("worker_deliveries_parked_total") == 1
    retried = client.post(f"{url}/{parked['id']}/retry", headers=admin)
    assert retried.status_code == 200 and retried.get_json()["status"] == "pending"
    wait_until(lambda: receiver.ids() == [event_id], what="the retry by hand")
    wait_until(lambda: client.get(url + "?status=sent", headers=admin).get_json()["deliveries"], what="sent")
    assert client.get(url, headers=admin).get_json()["deliveries"][0]["attempts"] == 5


def test_a_receiver_that_hangs_is_a_failed_attempt(hook, publish, receiver, workers):
    hook()
    receiver.delay = 3  # beyond WEBHOOK_TIMEOUT=2 for the first request only
    receiver.plan = [200]
    worker = workers()
    (event_id,) = publish(1)
    wait_until(lambda: len(receiver.received) >= 1, what="the first attempt")
    receiver.delay = 0
    wait_until(lambda: worker.metric("worker_deliveries_sent_total") == 1, timeout=30, what="the retry")
    assert worker.metric("worker_deliveries_failed_total") == 1
    assert [r["id"] for r in receiver.received] == [str(event_id)] * 2


def test_only_events_after_registration_and_of_the_listed_types(hook, publish, receiver, workers):
    before = publish(2, "invoice:paid")
    hook(["invoice:paid"])
    workers()
    publish(2, "notice:sent")
    after = publish(2, "invoice:paid")
    publish(1, "notice:sent")
    sentinel = publish(1, "invoice:paid")
    # Sends run in parallel: wait for all the expected ones, then nothing else came.
    wait_until(lambda: set(after + sentinel) <= set(receiver.ids()), what="the listed type's events")
    assert sorted(receiver.ids()) == after + sentinel
    assert not set(before) & set(receiver.ids())


def test_probes_and_metrics(publish, hook, receiver, workers):
    worker = workers()
    assert requests.get(f"{worker.url}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{worker.url}/readyz", timeout=5).json() == {"status": "ok", "checks": {"database": "ok"}}
    hook()
    publish(3)
    wait_until(lambda: worker.metric("worker_deliveries_sent_total") == 3, what="three sent")
    wait_until(lambda: worker.metric("worker_lag_events") == 0, what="no lag")
    text = requests.get(f"{worker.url}/metrics", timeout=5).text
    for name in ("worker_lag_events", "worker_lag_seconds", "worker_deliveries_pending"):
        assert name in text
    assert requests.get(f"{worker.url}/nope", timeout=5).json()["error"]["code"] == "not_found"


def test_readyz_says_which_dependency_is_down(database_url, workers):
    worker = workers(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens on port 1
    answer = requests.get(f"{worker.url}/readyz", timeout=10)
    assert answer.status_code == 503
    assert answer.json()["error"] == {"code": "not_ready", "message": "a dependency is unavailable",
                                      "details": {"database": "ok", "redis": "unavailable"}}
