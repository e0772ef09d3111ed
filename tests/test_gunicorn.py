"""gunicorn as the Procfile runs it (api/gunicorn_conf.py), on a free port:
the answers gunicorn gives before the app runs come in the JSON error shape."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import requests

from api.gunicorn_worker import json_error
from tests.conftest import EVENTS_SECRET, TEST_SECRET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(database_url: str, log, control: bool = False, **env: str):
    port = _free_port()
    environ = {**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": TEST_SECRET, "API_PORT": str(port),
               "EVENTS_SIGNING_SECRET": EVENTS_SECRET, "API_WORKERS": "1",
               "API_THREADS": "2", **env}
    command = [sys.executable, "-m", "gunicorn", "-c", "api/gunicorn_conf.py", "api.wsgi:app"]
    if not control:
        command.insert(-1, "--no-control-socket")
    process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process, port
        except requests.RequestException:  # not listening yet, or the worker still booting
            time.sleep(0.1)
    process.kill()
    process.wait()
    log.seek(0)
    pytest.fail("gunicorn did not start: " + log.read().decode()[-2000:])


@pytest.fixture(scope="module", params=["json", "gunicorn's own"])
def gunicorn(request, database_url):
    env = {} if request.param == "json" else {"API_JSON_SERVER_ERRORS": "0"}
    with tempfile.TemporaryFile() as log:
        process, port = _start(database_url, log, **env)
        yield request.param, port
        process.terminate()
        process.wait(timeout=20)


def _raw(port: int, request: bytes) -> tuple[int, str, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    content_type = next((line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                         if line.lower().startswith(b"content-type:")), "")
    return int(head.split(b" ", 2)[1]), content_type, body


@pytest.mark.parametrize("request_bytes, status, code", [
    (b"GET /api/v1/" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 10_000 + b"\r\n\r\n", 431, "headers_too_large"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n",
     431, "headers_too_large"),
    (b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400, "bad_request"),
], ids=["request line", "one header", "too many headers", "bad version"])
def test_gunicorns_own_answers_use_the_error_shape(gunicorn, request_bytes, status, code):
    mode, port = gunicorn
    got_status, content_type, body = _raw(port, request_bytes)
    assert got_status == status
    if mode == "json":
        assert content_type == "application/json"
        error = json.loads(body)["error"]
        assert (error["code"], error["details"]) == (code, {})
        assert b"aaaa" not in body and b"bbbb" not in body  # the offending input is not echoed
    else:  # the setting off: gunicorn's own page
        assert content_type == "text/html"


def test_an_answer_that_is_not_a_status_line_passes_unchanged():
    assert json_error(b"garbage") == b"garbage"


def test_a_bad_setting_stops_gunicorn_in_the_master_with_one_line(database_url):
    """Not workers respawning forever with the port bound: the master validates before forking."""
    env = {**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": TEST_SECRET, "API_PORT": str(_free_port()),
           "EVENTS_SIGNING_SECRET": EVENTS_SECRET, "JWT_ALGORITHMS": "HS999"}
    command = [sys.executable, "-m", "gunicorn", "-c", "api/gunicorn_conf.py", "--no-control-socket", "api.wsgi:app"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "configuration error: JWT_ALGORITHMS: unknown algorithm 'HS999'" in result.stderr
    assert "Booting worker" not in result.stderr


def test_two_instances_on_one_host_have_a_control_socket_each(database_url):
    with tempfile.TemporaryFile() as log_a, tempfile.TemporaryFile() as log_b:
        first, port_a = _start(database_url, log_a, control=True)
        second, port_b = _start(database_url, log_b, control=True)
        try:
            sockets = [f"/tmp/mentorship-api-{port}.ctl" for port in (port_a, port_b)]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(os.path.exists(path) for path in sockets):
                time.sleep(0.1)
            assert all(os.path.exists(path) for path in sockets)
        finally:
            for process in (first, second):
                process.terminate()
                process.wait(timeout=20)
