"""What the worker's planning costs the database: a fixed number of statements
per batch, whatever the number of recipients (counted at the driver)."""
from __future__ import annotations

import contextlib
import datetime as dt

from sqlalchemy import event

from api.extensions import db
from shared.presence_lookup import PresenceLookup
from shared.timeutil import utcnow
from tests.away.servers import BrowserKeys
from tests.away.test_push_send import logged_events
from worker import digests, push

API = "/api/v1"
NO_REDIS = PresenceLookup(None, "rt:test")


@contextlib.contextmanager
def counted(engine):
    statements: list[str] = []
    listener = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def crowd(client, auth, token, size: int) -> int:
    """A group of a mentor and `size` students, each subscribed and seen with an address; a message to all."""
    people = [{"role": "student", "id": n} for n in range(1, size + 1)] + [{"role": "mentor", "id": 1}]
    body = {"type": "group", "title": "crowd", "participants": people}
    conversation = client.post(API + "/conversations", json=body, headers=auth("admin", 9)).get_json()["id"]
    for n in range(1, size + 1):
        headers = {"Authorization": f"Bearer {token('student', n, email=f's{n}@example.org')}"}
        sub = BrowserKeys().subscription(f"https://push.example.net/d/{size}/{n}")
        assert client.post(API + "/push/subscriptions", json=sub, headers=headers).status_code == 201
    r = client.post(f"{API}/conversations/{conversation}/messages", json={"body": "hello all"},
                    headers=auth("mentor", 1))
    assert r.status_code == 201
    return conversation


def test_planning_pushes_takes_three_statements_for_any_number_of_recipients(app, client, auth, token):
    crowd(client, auth, token, 12)
    events = logged_events(app)
    with app.app_context():
        with counted(db.engine) as statements:
            planned = push.plan_pushes(db.session, events, NO_REDIS, utcnow())
    assert len(planned) == 12
    assert len(statements) == 3, statements


def test_finding_due_digests_takes_three_statements(app, client, auth, token, config):
    crowd(client, auth, token, 12)
    with app.app_context():
        with counted(db.engine) as statements:
            due = digests.due_digests(db.session, utcnow() + dt.timedelta(minutes=31), config, NO_REDIS)
    assert len(due) == 12 and all(d.unread == 1 for d in due)
    assert len(statements) == 3, statements
