"""`/healthz` (the process is up: liveness) and `/readyz` (it can serve: readiness).

A load balancer takes a gateway out of rotation on a 503 from `/readyz` - the
database does not answer, Redis (when configured) does not answer, or the bus
subscription is down, so events would only come late through the log - while
`/healthz` keeps saying the process need not be restarted.
"""
from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import text

from shared.logs import cause

log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"status": "ok"})


def readyz_handler(database, redis, gateway_of):
    """The handler, given the database, the Redis client (or None) and a
    function returning the running gateway's parts (made after the routes)."""

    async def readyz(request: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        try:
            await database(request).run(lambda conn: conn.execute(text("SELECT 1")).scalar())
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            log.warning("readiness: database unavailable: %s", cause(exc))
            checks["database"] = "unavailable"
        client = redis(request)
        if client is not None:
            try:
                await client.ping()
                checks["redis"] = "ok"
            except Exception as exc:  # noqa: BLE001
                log.warning("readiness: redis unavailable: %s", cause(exc))
                checks["redis"] = "unavailable"
        if gateway_of(request).bus is not None:
            checks["subscription"] = "ok" if gateway_of(request).link.subscribed else "unavailable"
        if all(value == "ok" for value in checks.values()):
            return web.json_response({"status": "ok", "checks": checks})
        body = {"error": {"code": "not_ready", "message": "a dependency is unavailable", "details": checks}}
        return web.json_response(body, status=503, headers={"Retry-After": "5"})

    return readyz
