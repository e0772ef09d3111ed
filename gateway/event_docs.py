"""`GET /asyncapi.json`: the AsyncAPI 3 document of the events both ways, the
envelope and the Redis channel. Generated from the API's own event schemas
(`python -m api.asyncapi > docs/asyncapi.json`; a test keeps it current), so
the gateway serves the file and imports nothing of the API."""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "asyncapi.json"


async def asyncapi(request: web.Request) -> web.FileResponse:
    return web.FileResponse(DOCUMENT, headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})


def setup_event_docs(app: web.Application) -> None:
    app.router.add_get("/asyncapi.json", asyncapi)
