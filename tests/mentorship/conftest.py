"""Mentorship fixtures: a caller per principal and ready-made relationships."""
from __future__ import annotations

import json
import threading

import pytest
import requests
from sqlalchemy import select

from api.extensions import db
from shared.models import Event

MENTOR = ("mentor", 11)
STUDENT = ("student", 21)
OTHER_MENTOR = ("mentor", 12)
OTHER_STUDENT = ("student", 22)
ADMIN = ("admin", 1)


class Caller:
    """`api.post("/relationships", STUDENT, json={...})` -> the test-client response."""

    def __init__(self, client, auth):
        self.client, self.auth = client, auth

    def call(self, method, path, who, **kwargs):
        url = path if path.startswith("/api/") else "/api/v1" + path
        return self.client.open(url, method=method, headers=self.auth(*who), **kwargs)

    def get(self, path, who, **kwargs):
        return self.call("GET", path, who, **kwargs)

    def post(self, path, who, **kwargs):
        kwargs.setdefault("json", {})
        return self.call("POST", path, who, **kwargs)

    def put(self, path, who, **kwargs):
        return self.call("PUT", path, who, **kwargs)

    def patch(self, path, who, **kwargs):
        return self.call("PATCH", path, who, **kwargs)

    def delete(self, path, who, **kwargs):
        return self.call("DELETE", path, who, **kwargs)

    def ok(self, response, status=200):
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()

    def items(self, path, who):
        """A list endpoint's items: the one list in its response object."""
        (items,) = [v for v in self.ok(self.get(path, who)).values() if isinstance(v, list)]
        return items

    def profile(self, who=MENTOR, **fields):
        body = {"sectors": ["Tech"], "skills": ["python"], "languages": ["en"], **fields}
        return self.ok(self.put("/mentors/me/profile", who, json=body))

    def needs(self, who=STUDENT, **fields):
        body = {"sectors": ["tech"], "skills": ["Python", "sql"], "languages": ["EN"], **fields}
        return self.ok(self.put("/students/me/needs", who, json=body))

    def request(self, student=STUDENT, mentor=MENTOR, **extra):
        return self.ok(self.post("/relationships", student, json={"mentor_id": mentor[1], **extra}), 201)

    def offer(self, mentor=MENTOR, student=STUDENT, **extra):
        return self.ok(self.post("/relationships", mentor, json={"student_id": student[1], **extra}), 201)

    def pending(self, student=STUDENT, mentor=MENTOR):
        """A student's request to a mentor who has a profile."""
        self.profile(mentor)
        return self.request(student, mentor)

    def active(self, student=STUDENT, mentor=MENTOR):
        rel = self.pending(student, mentor)
        return self.ok(self.post(f"/relationships/{rel['id']}/accept", mentor))

    def goal(self, rel, who=STUDENT, **fields):
        return self.ok(self.post(f"/relationships/{rel['id']}/goals", who, json={"title": "Ship it", **fields}), 201)


class Live:
    """Plain HTTP calls to the live server with real tokens."""

    def __init__(self, base, token):
        self.base, self.token = base, token

    def call(self, method, path, who, body=None):
        headers = {"Authorization": f"Bearer {self.token(*who)}"}
        response = requests.request(method, f"{self.base}/api/v1{path}", headers=headers, json=body, timeout=30)
        return response.status_code, response.json() if response.content else None

    def ok(self, method, path, who, body=None, status=200):
        code, data = self.call(method, path, who, body)
        assert code == status, data
        return data

    def race(self, calls):
        """Run every (method, path, who, body) at once; results in order."""
        barrier = threading.Barrier(len(calls))
        results = [None] * len(calls)

        def run(i, call):
            barrier.wait(timeout=10)
            results[i] = self.call(*call)

        threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert all(r is not None for r in results), "a racing request did not finish"
        return results


@pytest.fixture
def live(live_server, token):
    return Live(live_server, token)


@pytest.fixture
def api(client, auth):
    return Caller(client, auth)


def events_by_room(app) -> dict[str, list[tuple[str, dict]]]:
    """Every logged event, grouped by room, in id order."""
    with app.app_context():
        rows = db.session.execute(select(Event).order_by(Event.id)).scalars().all()
        out: dict[str, list[tuple[str, dict]]] = {}
        for row in rows:
            out.setdefault(row.room, []).append((row.type, json.loads(row.data)))
        db.session.remove()
    return out
