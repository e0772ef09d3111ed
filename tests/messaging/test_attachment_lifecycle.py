"""Attachments over time: uploads never sent are swept (the function and the
CLI), what a send costs in SQL statements with and without files, a page of
messages with files at a constant number of queries, and two sends racing
for one upload."""
from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
import threading

import pytest
from sqlalchemy import event

from api.extensions import db
from api.messaging.attaching import sweep_unattached
from shared.models import Attachment
from shared.timeutil import utcnow
from tests.attachment_files import image_bytes
from tests.conftest import EVENTS_SECRET, TEST_SECRET
from tests.messaging.conftest import send

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MENTOR, STUDENT = ("mentor", 1), ("student", 2)


@pytest.fixture
def config(base_config, storage_url):
    return base_config.replace(storage_url=storage_url)


def uploaded(user, data: bytes = b"some text", name: str = "a.txt") -> dict:
    response = user.post("/attachments", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _age(app, attachment_id: int, hours: float) -> None:
    with app.app_context():
        db.session.get(Attachment, attachment_id).created_at = utcnow() - dt.timedelta(hours=hours)
        db.session.commit()


def _ids(app) -> set[int]:
    with app.app_context():
        return {a.id for a in db.session.query(Attachment)}


def test_the_sweep_removes_old_unsent_uploads_only(app, as_, mentorship, stored):
    mentor = as_(*MENTOR)
    cid = mentorship(MENTOR[1], STUDENT[1])
    old = uploaded(mentor, image_bytes(), "old.png")
    recent = uploaded(mentor)
    sent = uploaded(mentor)
    send(mentor, cid, "x", attachment_ids=[sent["id"]])
    _age(app, old["id"], 25)
    _age(app, sent["id"], 25)
    before = stored()
    with app.app_context():
        assert sweep_unattached(utcnow()) == 1
        assert sweep_unattached(utcnow()) == 0
    assert _ids(app) == {recent["id"], sent["id"]}
    assert len(before - stored()) == 2  # the old upload and its thumbnail
    assert mentor.get(f"/attachments/{old['id']}").status_code == 404
    with app.app_context():  # a shorter age, given
        assert sweep_unattached(utcnow() + dt.timedelta(minutes=5), dt.timedelta(minutes=1)) == 1
    assert _ids(app) == {sent["id"]}


def test_the_sweep_cli(app, as_, config, storage_url):
    old = uploaded(as_(*MENTOR))
    _age(app, old["id"], 2)
    env = {**os.environ, "DATABASE_URL": config.database_url, "JWT_SECRET": TEST_SECRET,
           "EVENTS_SIGNING_SECRET": EVENTS_SECRET, "STORAGE_URL": storage_url}
    result = subprocess.run([sys.executable, "-m", "api.messaging.attachment_sweep", "--older-than", "3600"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "removed 1 unsent upload(s)" in result.stdout
    assert _ids(app) == set()


def _statements(app, call) -> list[str]:
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen


# Pinned: a send is 8 statements (context, conversation lock, message INSERT,
# conversation and marker UPDATEs, the notification targets with their unread
# rows and the UPDATE bumping them, the events INSERT at commit; on SQLite the
# events go one INSERT each); files add 2 whatever their number (the locking SELECT
# of the uploads, one UPDATE with `id IN (...)`: not an executemany, which
# pymysql sends row by row).
SEND_STATEMENTS = {0: 8, 3: 10}


def test_what_a_send_costs_in_statements(app, as_, mentorship):
    mentor = as_(*MENTOR)
    cid = mentorship(MENTOR[1], STUDENT[1])
    send(mentor, cid, "warm up")
    counts = {}
    for n in SEND_STATEMENTS:
        ids = [uploaded(mentor)["id"] for _ in range(n)]
        statements = _statements(app, lambda ids=ids: send(mentor, cid, "with files", attachment_ids=ids))
        counts[n] = len(statements)
    # SQLite's driver writes the two events (the message's, the student's notification's) one INSERT each.
    extra = 1 if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else 0
    assert counts == {n: count + extra for n, count in SEND_STATEMENTS.items()}, statements


def test_a_page_of_messages_with_files_costs_the_same_queries_as_without(app, as_, mentorship):
    mentor, student = as_(*MENTOR), as_(*STUDENT)
    plain = mentorship(MENTOR[1], STUDENT[1])
    rich = mentorship(3, 4)
    for _ in range(3):
        send(mentor, plain, "plain")
    for _ in range(20):
        send(as_("mentor", 3), rich, "rich", attachment_ids=[uploaded(as_("mentor", 3))["id"] for _ in range(2)])
    few = _statements(app, lambda: student.get(f"/conversations/{plain}/messages"))
    many = _statements(app, lambda: as_("student", 4).get(f"/conversations/{rich}/messages"))
    assert len(few) == len(many)


@pytest.mark.mysql
def test_two_sends_racing_for_one_upload_attach_it_once(app, live_server, token, mentorship, as_):
    import requests

    cid = mentorship(MENTOR[1], STUDENT[1])
    file = uploaded(as_(*MENTOR))
    headers = {"Authorization": f"Bearer {token(*MENTOR)}"}
    barrier, answers = threading.Barrier(4), []

    def race():
        barrier.wait()
        answers.append(requests.post(f"{live_server}/api/v1/conversations/{cid}/messages", headers=headers,
                                     json={"body": "mine", "attachment_ids": [file["id"]]}, timeout=30))

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [201, 422, 422, 422]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 422} == {"attachment_already_sent"}
