"""Team and context conversations under concurrency: real requests racing on MariaDB."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.extensions import db
from shared.models import Conversation, Event, Participant, TeamMember
from tests.mentorship.conftest import Live

pytestmark = pytest.mark.mysql
SERVICE = ("service", 1)


@pytest.fixture
def live(live_server, token):
    return Live(live_server, token)


def people(ids):
    return [{"role": "student", "id": i} for i in ids]


def test_creators_racing_for_one_context_get_the_same_conversation(live, app):
    live.ok("PUT", "/teams/7/members", SERVICE, {"members": people(range(1, 9))})
    body = {"type": "team", "team_id": 7, "context": {"kind": "exercise", "id": 12}}
    results = live.race([("POST", "/conversations", ("student", i), body) for i in range(1, 9)])
    assert sorted(code for code, _ in results) == [200] * 7 + [201]
    assert len({data["id"] for _, data in results}) == 1
    with app.app_context():
        threads = db.session.scalar(select(func.count()).select_from(Conversation).where(
            Conversation.context_kind == "exercise"))
        announced = db.session.scalar(select(func.count()).select_from(Event).where(
            Event.type == "conversation:created", Event.data.contains('"exercise"')))
    assert (threads, announced) == (1, 8)


def test_group_creators_racing_for_one_context_get_the_same_group(live):
    body = {"type": "group", "title": "Submission 5", "participants": people([1]),
            "context": {"kind": "submission", "id": 5}}
    results = live.race([("POST", "/conversations", ("mentor", 3), body)] * 6)
    assert sorted(code for code, _ in results) == [200] * 5 + [201]
    assert len({data["id"] for _, data in results}) == 1


def test_rosters_and_new_threads_racing_end_in_agreement(live, app):
    """Roster changes and thread creations at once: afterwards every team
    conversation has exactly the roster that committed last."""
    live.ok("PUT", "/teams/7/members", SERVICE, {"members": people(range(1, 6))})
    calls = [("PUT", "/teams/7/members", SERVICE, {"members": people(range(k, k + 5))}) for k in (2, 3, 4, 5)]
    calls += [("POST", "/conversations", ("admin", 1),
               {"type": "team", "team_id": 7, "context": {"kind": "exercise", "id": n}}) for n in range(1, 5)]
    results = live.race(calls)
    assert all(code in (200, 201) for code, _ in results), results
    with app.app_context():
        roster = set(db.session.execute(select(TeamMember.role, TeamMember.principal_id)).all())
        conversations = db.session.execute(select(Conversation.id).where(Conversation.team_id == 7)).scalars().all()
        assert len(conversations) == 5
        for cid in conversations:
            current = set(db.session.execute(select(Participant.role, Participant.principal_id).where(
                Participant.conversation_id == cid, Participant.left_at.is_(None))).all())
            assert current == roster, cid
