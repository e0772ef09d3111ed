"""The worker's probes and metrics over HTTP: `/healthz` (the process is up),
`/readyz` (the database, and Redis when configured, answer; 503 `not_ready`
in the one error shape otherwise) and `/metrics` (Prometheus text)."""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from shared.logs import cause

log = logging.getLogger(__name__)


class Metrics:
    """The worker's Prometheus metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.lag_events = Gauge("worker_lag_events", "Events in the log the worker has not followed yet", registry=r)
        self.lag_seconds = Gauge("worker_lag_seconds", "Age of the oldest event not followed yet", registry=r)
        self.pending = Gauge("worker_deliveries_pending", "Deliveries waiting to be sent", ["channel"], registry=r)
        self.sent = Counter("worker_deliveries_sent", "Deliveries sent", ["channel"], registry=r)
        self.failed = Counter("worker_deliveries_failed", "Attempts that failed", ["channel"], registry=r)
        self.retried = Counter("worker_deliveries_retried", "Failed attempts scheduled again", ["channel"], registry=r)
        self.parked = Counter("worker_deliveries_parked", "Deliveries given up on (failed)", ["channel"], registry=r)
        self.errors = Counter("worker_database_errors", "Rounds that failed on the database", registry=r)


def database_check(engine: Engine) -> Callable[[], None]:
    def check() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    return check


def redis_check(url: str) -> Callable[[], None]:
    def check() -> None:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    return check


def _handler(metrics: Metrics, checks: dict[str, Callable[[], None]]) -> type[BaseHTTPRequestHandler]:
    # The last answer per check: a probe every few seconds logs a change, not each failure
    # (the cause is the dispatcher's line, or the wake-up listener's, once per outage).
    last: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
            return  # probes every few seconds would drown the log

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if status == 503:
                self.send_header("Retry-After", "5")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 - the stdlib's name
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(200, b'{"status":"ok"}')
            elif path == "/readyz":
                self._readyz()
            elif path == "/metrics":
                self._send(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
            else:
                error = {"code": "not_found", "message": "no such resource", "details": {}}
                self._send(404, json.dumps({"error": error}).encode())

        def _readyz(self) -> None:
            results = {}
            for name, check in checks.items():
                try:
                    check()
                    results[name] = "ok"
                except Exception as exc:  # noqa: BLE001 - any failure means not ready
                    log.debug("readiness check %s failed: %s", name, cause(exc))
                    results[name] = "unavailable"
                if last.get(name, "ok") != results[name]:
                    log.info("readiness: %s %s", name, "ready" if results[name] == "ok" else "not ready")
                last[name] = results[name]
            if all(value == "ok" for value in results.values()):
                self._send(200, json.dumps({"status": "ok", "checks": results}).encode())
            else:
                error = {"code": "not_ready", "message": "a dependency is unavailable", "details": results}
                self._send(503, json.dumps({"error": error}).encode())

    return Handler


def serve(host: str, port: int, metrics: Metrics, checks: dict[str, Callable[[], None]]) -> ThreadingHTTPServer:
    """Start the probe server in a daemon thread (OSError if the port is taken)."""
    server = ThreadingHTTPServer((host, port), _handler(metrics, checks))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="worker-health", daemon=True).start()
    return server
