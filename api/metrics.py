"""Prometheus metrics for the API: request counts and latencies by endpoint.

Labels use the URL rule (`/api/v1/goals/<int:goal_id>`), not the raw path,
so cardinality stays bounded. Under gunicorn with several workers set
PROMETHEUS_MULTIPROC_DIR (the Procfile does) so /metrics sums all workers.
"""
from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

blp = Blueprint("metrics", __name__)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "api_requests_total", "HTTP requests", ["method", "endpoint", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "api_request_duration_seconds",
            "HTTP request latency",
            ["method", "endpoint"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def _start_timer() -> None:
    g.started_at = time.perf_counter()


def _observe(response):
    metrics: ApiMetrics = current_app.extensions["metrics"]
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    elapsed = time.perf_counter() - g.get("started_at", time.perf_counter())
    metrics.requests.labels(request.method, endpoint, str(response.status_code)).inc()
    metrics.latency.labels(request.method, endpoint).observe(elapsed)
    return response


@blp.get("/metrics")
def metrics_text():
    """Prometheus text exposition."""
    body = current_app.extensions["metrics"].render()
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def setup_metrics(app: Flask) -> None:
    app.extensions["metrics"] = ApiMetrics()
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.register_blueprint(blp)
