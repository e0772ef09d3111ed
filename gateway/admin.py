"""The official Socket.IO Admin UI at `/admin/`, for operators: live sockets,
their rooms and the events going through (GATEWAY_ADMIN_UI=1; off by default).

python-socketio's `instrument()` serves the UI's `/admin` namespace behind
the configured login; the UI's built files come from the npm package
`@socket.io/admin-ui` (pinned in gateway/admin-ui/package-lock.json,
installed by `scripts/setup`), served by the gateway itself. Its page links
two stylesheets from CDNs (web fonts and icons); they are left out, so the
UI needs no network (it falls back to system fonts, without icons).

Live events the fast emit path writes straight to websockets bypass
python-socketio's `emit`, so the UI's event log shows only what goes through
the library; sockets, rooms and connections are all there.
"""
from __future__ import annotations

import re
from pathlib import Path

import socketio
from aiohttp import web

from shared.config import Config, ConfigError

DIST = Path(__file__).resolve().parent / "admin-ui" / "node_modules" / "@socket.io" / "admin-ui" / "ui" / "dist"
CDN_LINK = re.compile(r'<link rel="stylesheet" href="https://[^"]+">')


def setup_admin_ui(app: web.Application, sio: socketio.AsyncServer, config: Config) -> None:
    if not config.gateway_admin_ui:
        return
    if not (DIST / "index.html").is_file():
        raise ConfigError("GATEWAY_ADMIN_UI=1 but the Admin UI files are missing: run scripts/setup"
                          " (npm ci in gateway/admin-ui)")
    sio.instrument(auth={"username": config.gateway_admin_user, "password": config.gateway_admin_password},
                   mode="development", read_only=config.gateway_admin_read_only)
    page = CDN_LINK.sub("", (DIST / "index.html").read_text())

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-cache"})

    app.router.add_get("/admin", lambda request: web.HTTPFound("/admin/"))
    app.router.add_get("/admin/", index)
    app.router.add_static("/admin/", DIST)
