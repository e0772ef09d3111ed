"""Readiness and failing fast: the gateway's `/readyz` follows the database,
Redis and the bus subscription while `/healthz` stays a liveness check; an
unreachable database is one log line with its cause - at start (the process
exits) and at connect time (the socket is refused) - never a traceback."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import pytest
import requests
import socketio
from sqlalchemy.engine import make_url

from tests.gateway.conftest import ROOT, free_port, start_gateway
from tests.gateway.helpers import Sock, eventually, run


class CuttableProxy:
    """A TCP forwarder to MariaDB on its own port; `cut()` closes it and every
    connection through it, as a database host going away does."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        try:
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        except OSError:
            pass
        self.server.close()
        with self.lock:
            for sock in self.open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


def _ready(gateway) -> tuple[int, dict]:
    response = requests.get(gateway.url + "/readyz", timeout=5)
    return response.status_code, response.json()


def test_readyz_checks_database_redis_and_the_subscription(database_url, channel, throwaway_redis, tmp_path):
    gateway = start_gateway(database_url, channel, throwaway_redis.url, str(tmp_path / "gw.log")).start()
    try:
        status, body = run(eventually(lambda: (lambda r: r if r[0] == 200 else None)(_ready(gateway)),
                                      what="ready"))
        assert body == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "subscription": "ok"}}
        throwaway_redis.kill()
        status, body = run(eventually(lambda: (lambda r: r if r[0] == 503 else None)(_ready(gateway)),
                                      what="not ready"))
        assert body["error"]["code"] == "not_ready"
        assert body["error"]["details"]["redis"] == "unavailable"
        assert body["error"]["details"]["database"] == "ok"
        # Liveness is not readiness: the process need not be restarted.
        assert requests.get(gateway.url + "/healthz", timeout=5).json() == {"status": "ok"}
    finally:
        gateway.stop()


def test_without_redis_readyz_checks_only_the_database(gateways):
    gateway = gateways(REDIS_URL="")
    assert _ready(gateway) == (200, {"status": "ok", "checks": {"database": "ok"}})


@pytest.mark.mysql
def test_a_database_lost_at_connect_time_refuses_with_one_log_line(database_url, channel, token, tmp_path):
    url = make_url(database_url)
    proxy = CuttableProxy((url.host or "127.0.0.1", url.port or 3306))
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    gateway = start_gateway(proxied, channel, None, str(tmp_path / "gw.log")).start()
    try:
        async def scenario():
            first = await Sock(gateway.url).connect(token("student", 31))
            await first.close()
            proxy.cut()
            refused = Sock(gateway.url)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await refused.connect(token("student", 32))
            assert refused.errors[0]["data"]["code"] == "unavailable"

        run(scenario())
        assert _ready(gateway)[1]["error"]["details"] == {"database": "unavailable"}
        log = gateway.log()
        assert "room lookup failed for student:32: OperationalError" in log
        assert "Traceback" not in log
    finally:
        gateway.stop()


def test_a_database_unreachable_at_start_is_one_line_and_exit_1(database_url, channel, tmp_path):
    closed = free_port()
    unreachable = f"mysql+pymysql://root@127.0.0.1:{closed}/nothing"
    gateway = start_gateway(unreachable, channel, None, str(tmp_path / "gw.log"))
    env = {**gateway.env, "JWT_SECRET": "j" * 40, "EVENTS_SIGNING_SECRET": "e" * 40}
    result = subprocess.run([sys.executable, "-m", "gateway"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert "gateway: cannot start: OperationalError: (2003" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_migrate_against_an_unreachable_database_is_one_line():
    env = {**os.environ, "DATABASE_URL": f"mysql+pymysql://root:pw@127.0.0.1:{free_port()}/x",
           "JWT_SECRET": "j" * 40, "EVENTS_SIGNING_SECRET": "e" * 40}
    result = subprocess.run([sys.executable, "-m", "shared.migrate"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if not line.startswith("WARNING")]
    assert len(lines) == 1 and lines[0].startswith("migration failed: database mysql+pymysql://root:***@127.0.0.1")
    assert "Can't connect" in lines[0]
