"""Gateway application factory: aiohttp + python-socketio."""
from __future__ import annotations

import socketio
from aiohttp import web

from shared import rooms
from shared.auth import AuthError, bearer_token, verify_token
from shared.config import Config

CONFIG: web.AppKey[Config] = web.AppKey("config", Config)
SIO: web.AppKey[socketio.AsyncServer] = web.AppKey("sio", socketio.AsyncServer)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _token_from(environ: dict, auth: dict | None) -> str | None:
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        return auth["token"]
    header = bearer_token(environ.get("HTTP_AUTHORIZATION"))
    if header:
        return header
    request = environ.get("aiohttp.request")
    return request.query.get("token") if request is not None else None


def setup_socketio(app: web.Application, config: Config) -> socketio.AsyncServer:
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=config.cors_origins or [])

    @sio.event
    async def connect(sid, environ, auth):
        try:
            principal, _claims = verify_token(_token_from(environ, auth), config)
        except AuthError as exc:
            raise socketio.exceptions.ConnectionRefusedError({"message": exc.message, "code": exc.code}) from None
        await sio.save_session(sid, {"principal": principal})
        for room in rooms.base_rooms(principal):
            await sio.enter_room(sid, room)

    sio.attach(app)
    app[SIO] = sio
    return sio


async def init_app(config: Config) -> web.Application:
    app = web.Application()
    app[CONFIG] = config
    app.router.add_get("/healthz", healthz)
    setup_socketio(app, config)
    return app
