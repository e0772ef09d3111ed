"""Messaging fixtures: a JSON client per principal and rows made straight in the DB."""
from __future__ import annotations

import pytest

from api.extensions import db
from api.messaging.membership import open_mentorship_conversation
from shared.models import Event, Message, Relationship


class As:
    """Calls the API as one principal: `alice.post("/conversations", json={...})`."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def __getattr__(self, method):
        def call(path, **kwargs):
            return getattr(self.client, method)("/api/v1" + path, headers=self.headers, **kwargs)

        return call


@pytest.fixture(autouse=True)
def _unthread_before_cleanup(app):
    """The shared cleanup deletes `messages` in one statement, which MariaDB
    refuses while replies point at parents (self-referencing FK); unlink first."""
    yield
    with app.app_context():
        db.session.rollback()
        db.session.query(Message).filter(Message.parent_id.is_not(None)).update({"parent_id": None})
        db.session.commit()


@pytest.fixture
def as_(client, auth):
    """as_("student", 12) -> a client acting as that principal."""
    return lambda role, pid: As(client, auth(role, pid))


@pytest.fixture
def relationship(app):
    """relationship(mentor_id, student_id, status) -> its id (rows written directly)."""

    def make(mentor_id: int, student_id: int, status: str = "active") -> int:
        with app.app_context():
            rel = Relationship(mentor_id=mentor_id, student_id=student_id, status=status, requested_by="student")
            db.session.add(rel)
            db.session.commit()
            return rel.id

    return make


@pytest.fixture
def mentorship(app, relationship):
    """mentorship(mentor_id, student_id) -> the id of the pair's conversation."""

    def make(mentor_id: int, student_id: int) -> int:
        rel_id = relationship(mentor_id, student_id)
        with app.app_context():
            conversation = open_mentorship_conversation(db.session.get(Relationship, rel_id))
            db.session.commit()
            return conversation.id

    return make


@pytest.fixture
def events(app):
    """events(room=None, type_=None) -> logged events, oldest first."""

    def read(room: str | None = None, type_: str | None = None) -> list[Event]:
        with app.app_context():
            query = db.session.query(Event).order_by(Event.id)
            if room:
                query = query.filter(Event.room == room)
            if type_:
                query = query.filter(Event.type == type_)
            rows = query.all()
            db.session.expunge_all()
            return rows

    return read


def send(user, conversation_id: int, body: str = "hello there", **extra):
    response = user.post(f"/conversations/{conversation_id}/messages", json={"body": body, **extra})
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()
