"""Liveness and readiness probes, at the root of the process."""
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from api.auth import app_config
from api.errors import error_response
from api.extensions import db

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify(status="ok")


def _check_database() -> None:
    db.session.execute(text("SELECT 1"))
    db.session.rollback()


def _check_redis() -> None:
    import redis

    url = app_config().redis_url
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    finally:
        client.close()


@blp.get("/readyz")
def readyz():
    """The database (and Redis when configured) answer."""
    checks = {"database": _check_database}
    if app_config().redis_url:
        checks["redis"] = _check_redis
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            current_app.logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            results[name] = "unavailable"
    if all(value == "ok" for value in results.values()):
        return jsonify(status="ok", checks=results)
    return error_response(503, "not_ready", "a dependency is unavailable", results, {"Retry-After": "5"})
