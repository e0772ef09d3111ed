"""Operations: structured logs, API metrics, event-log pruning, the Procfile."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys

from flask import g

from api.extensions import db
from shared.logs import configure_logging
from shared.models import Event
from shared.timeutil import utcnow
from tests.conftest import TEST_SECRET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_json_logs_carry_the_request_id(app, capsys):
    configure_logging("api", log_format="json")
    try:
        with app.test_request_context("/"):
            g.request_id = "req-42"
            logging.getLogger("mentorship.test").warning("hello %s", "world")
        line = capsys.readouterr().out.strip().splitlines()[-1]
        record = json.loads(line)
        assert record["message"] == "hello world"
        assert record["request_id"] == "req-42"
        assert record["level"] == "WARNING"
        assert record["process"] == "api"
    finally:
        configure_logging("api", log_format="text")


def test_metrics_count_requests_by_endpoint(client, auth):
    for _ in range(3):
        client.get("/api/v1/me", headers=auth("mentor", 3))
    client.get("/no/such/path")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'api_requests_total{endpoint="/api/v1/me",method="GET",status="200"} 3.0' in text
    assert 'endpoint="unmatched"' in text
    assert "api_request_duration_seconds_bucket" in text


def test_prune_cli_deletes_only_old_events(app, config):
    with app.app_context():
        old = utcnow() - dt.timedelta(days=8)
        db.session.add_all(
            [Event(room="student:1", type="x:y", data="{}", created_at=old) for _ in range(3)]
            + [Event(room="student:1", type="x:y", data="{}")]
        )
        db.session.commit()
    env = {
        **os.environ,
        "DATABASE_URL": config.database_url,
        "JWT_SECRET": TEST_SECRET,
        "EVENTS_SIGNING_SECRET": "prune-test-events-secret-0123456789abcdef",
    }
    result = subprocess.run(
        [sys.executable, "-m", "shared.prune", "--days", "7"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "pruned 3 event(s)" in result.stdout
    with app.app_context():
        assert db.session.query(Event).count() == 1


def test_procfile_names_the_three_processes():
    with open(os.path.join(ROOT, "Procfile")) as fh:
        lines = dict(line.split(":", 1) for line in fh if line.strip())
    assert "gunicorn" in lines["api"] and "api.wsgi:app" in lines["api"]
    assert "python -m gateway" in lines["gateway"]
    assert "python -m worker" in lines["worker"]
