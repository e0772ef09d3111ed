"""The periodic-job runner: every job runs in its own transaction; one failing does not stop the others."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from api import periodic
from api.extensions import db
from shared.models import Block


def test_each_job_commits_its_own_work_and_a_failing_one_rolls_back_alone(app, monkeypatch):
    monkeypatch.setattr(periodic, "JOBS", {})
    seen: list[dt.datetime] = []

    @periodic.job("writes")
    def writes(now):
        seen.append(now)
        db.session.add(Block(blocker_role="mentor", blocker_id=1, blocked_role="student", blocked_id=2))
        return 1

    @periodic.job("fails")
    def fails(now):
        db.session.add(Block(blocker_role="mentor", blocker_id=3, blocked_role="student", blocked_id=4))
        raise RuntimeError("boom")

    now = dt.datetime(2026, 12, 1, 12, 0)
    assert periodic.run_due(app, now) == {"writes": 1}
    assert seen == [now]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Block)) == 1
        assert db.session.scalar(select(Block.blocker_id)) == 1
