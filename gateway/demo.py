"""The demo page at `/` (development): plain HTML over the browser helper (`/client/realtime.js`).

It shows frontend authors the whole integration in one small file
(`static/demo.js`). Off in production unless GATEWAY_DEMO=1.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent / "static"


async def index(request: web.Request) -> web.FileResponse:
    """The demo page."""
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def setup_demo(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/index.html", index)
    app.router.add_get("/demo.js", lambda request: web.FileResponse(STATIC / "demo.js"))
    # At the root, so its scope covers the page; no-cache, so an edit reaches browsers at once.
    no_cache = {"Cache-Control": "no-cache"}
    app.router.add_get("/sw.js", lambda request: web.FileResponse(STATIC / "sw.js", headers=no_cache))
