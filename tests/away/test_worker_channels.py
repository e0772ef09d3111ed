"""The delivery worker sends Web Push and email digests itself: a real
`python -m worker` follows the log and pushes to a loopback push service that
checks VAPID and decrypts; the worker's digest pass mails a real SMTP server."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import uuid

from sqlalchemy import create_engine

from shared.timeutil import utcnow
from tests.away.conftest import SUBJECT
from tests.away.servers import BrowserKeys
from tests.worker.conftest import WorkerProcess, wait_until
from worker import dispatch
from worker.health import Metrics

API = "/api/v1"
STUDENT, MENTOR, ADMIN = ("student", 2), ("mentor", 1), ("admin", 9)
BURST = 20


def _group(client, auth) -> int:
    people = [{"role": r, "id": i} for r, i in (STUDENT, MENTOR)]
    body = {"type": "group", "title": "study group", "participants": people}
    return client.post(API + "/conversations", json=body, headers=auth(*ADMIN)).get_json()["id"]


def test_the_worker_pushes_a_burst_to_an_offline_student_as_a_few_pushes(
        app, client, auth, config, database_url, vapid_file, push_service, tmp_path):
    config.outbound_allow_private = True
    conversation = _group(client, auth)
    device, keys = uuid.uuid4().hex, BrowserKeys()
    subscribed = client.post(API + "/push/subscriptions", json=keys.subscription(push_service.endpoint(device, keys)),
                             headers=auth(*STUDENT))
    assert subscribed.status_code == 201
    worker = WorkerProcess(database_url, tmp_path / "worker.log", VAPID_PRIVATE_KEY_FILE=vapid_file,
                           VAPID_SUBJECT=SUBJECT).start()
    try:
        for n in range(BURST):
            sent = client.post(f"{API}/conversations/{conversation}/messages", json={"body": f"note {n}"},
                               headers=auth(*MENTOR))
            assert sent.status_code == 201
        # The last push carries the whole burst: the coalesced notification's count.
        wait_until(lambda: any(p.payload and p.payload.get("count") == BURST for p in push_service.of(device)),
                   30, "a push counting the whole burst")
        arrived = push_service.of(device)
        assert all(p.problem is None for p in arrived)  # VAPID verified, payload decrypted
        assert 1 <= len(arrived) < BURST // 2
        assert arrived[-1].payload["body"] == f"note {BURST - 1}"
        assert arrived[-1].payload["tag"] == f"conversation:{conversation}"
        wait_until(lambda: worker.metric("worker_deliveries_sent_total", "push") == len(arrived), 10,
                   "the pushes counted as sent")
    finally:
        worker.stop()


def test_the_worker_mails_the_digest_of_what_an_away_student_missed(app, client, auth, token, config, smtp,
                                                                     monkeypatch):
    url, inbox = smtp
    conversation = _group(client, auth)
    seen = client.get(API + "/me", headers={"Authorization": f"Bearer {token(*STUDENT, email='stu@example.org')}"})
    assert seen.status_code == 200
    for n in range(3):
        client.post(f"{API}/conversations/{conversation}/messages", json={"body": f"catch up {n}"},
                    headers=auth(*MENTOR))
    worker_config = config.replace(smtp_url=url, vapid_private_key_file=None)
    engine = create_engine(config.database_url)
    # As if DIGEST_AFTER_MINUTES had passed since the messages.
    monkeypatch.setattr(dispatch, "utcnow", lambda: utcnow() + dt.timedelta(minutes=worker_config.digest_after_minutes
                                                                             + 5))
    metrics = Metrics()
    try:
        dispatch.Dispatcher(worker_config, engine, metrics)._digests()
    finally:
        engine.dispose()
    [(sender, recipients, raw)] = inbox.messages
    assert recipients == ["stu@example.org"] and "noreply@example.org" in sender
    message = email.message_from_bytes(raw, policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    # One email for the three messages: their coalesced notification, with the latest one.
    assert "1 unread notification" in text and "New message from mentor 1 (3)" in text and "catch up 2" in text
    assert message["List-Unsubscribe"]
