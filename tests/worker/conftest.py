"""Worker fixtures: a webhook receiver on loopback that checks every signature,
and the worker itself as a real process (`python -m worker`) on the test database."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.conftest import EVENTS_SECRET, TEST_SECRET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Receiver:
    """An HTTP endpoint: answers each request with the next planned status
    (200 once the plan is spent) after `delay` seconds, and keeps what came
    with whether its Standard Webhooks signature verified with `secret`."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.plan: list[int] = []
        self.delay = 0.0
        self.received: list[dict] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                return

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except (WebhookVerificationError, TypeError, ValueError):
                    verified = False
                with receiver._lock:
                    status = receiver.plan.pop(0) if receiver.plan else 200
                    receiver.received.append({"id": headers.get("webhook-id"), "body": body, "verified": verified,
                                              "status": status, "path": self.path, "headers": headers})
                time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/mentorship"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def ids(self, status: int | None = 200) -> list[int]:
        with self._lock:
            return [int(r["id"]) for r in self.received if status is None or r["status"] == status]

    def envelopes(self) -> list[dict]:
        with self._lock:
            return [json.loads(r["body"]) for r in self.received]


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


class WorkerProcess:
    def __init__(self, database_url: str, log_path, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            "PATH": os.environ["PATH"], "DATABASE_URL": database_url, "JWT_SECRET": TEST_SECRET,
            "EVENTS_SIGNING_SECRET": EVENTS_SECRET, "WORKER_PORT": str(self.port), "WORKER_POLL_INTERVAL": "0.05",
            "OUTBOUND_ALLOW_PRIVATE": "1", "WEBHOOK_TIMEOUT": "2", "WORKER_LEASE_SECONDS": "3",
            "WEBHOOK_RETRY_SECONDS": "0.2,0.2,0.2", **env,
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT)
        log.close()
        wait_until(self._up, 30, f"the worker on {self.url} (log: {self.log_path})")
        return self

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the worker exited: {open(self.log_path).read()[-2000:]}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def metric(self, name: str, channel: str = "webhook") -> float:
        text = requests.get(f"{self.url}/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith(f'{name}{{channel="{channel}"}}') or line.startswith(f"{name} "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def workers(app, database_url, tmp_path):
    """workers(**env) -> a started worker process; all stopped before the database is cleaned."""
    started: list[WorkerProcess] = []

    def start(**env: str) -> WorkerProcess:
        worker = WorkerProcess(database_url, tmp_path / f"worker{len(started)}.log", **env)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def admin(auth):
    return auth("admin", 1)


@pytest.fixture
def hook(client, admin, receiver):
    """hook(types) -> a webhook aimed at the receiver (its secret handed to the receiver)."""

    def make(types=("*",), url=None) -> dict:
        answer = client.post("/api/v1/webhooks", json={"url": url or receiver.url, "types": list(types)},
                             headers=admin)
        assert answer.status_code == 201, answer.get_json()
        receiver.secret = answer.get_json()["secret"]
        return answer.get_json()

    return make


@pytest.fixture
def publish(client, auth):
    """publish(n) -> ids of n events logged over REST, one request (and commit) each."""

    def make(count: int, type_: str = "notice:sent") -> list[int]:
        ids = []
        for n in range(count):
            answer = client.post("/api/v1/events", json={"room": "everyone", "type": type_, "data": {"n": n}},
                                 headers=auth("service", 1))
            assert answer.status_code == 201
            ids.append(answer.get_json()["id"])
        return ids

    return make


@pytest.fixture
def config(base_config):
    """Tests' receivers listen on loopback (OUTBOUND_ALLOW_PRIVATE=1, as the worker processes get)."""
    return base_config.replace(outbound_allow_private=True)
