"""The baseline: a bare python-socketio server as its documentation shows it.

aiohttp + `socketio.AsyncServer` + `AsyncRedisManager` on uvloop; a connect
handler that verifies the JWT (plain PyJWT, HS256) and joins the socket to
the same rooms our gateway would: the personal room `<role>:<id>` and the
audience room `everyone`. Events reach it through python-socketio's own
Redis channel (pickled), published by `socketio.RedisManager(write_only=True)`
in `bench.publisher`. Nothing of ours is in the delivery path.

`python -m bench.stock_server --port 8100 --redis redis://127.0.0.1:6379/0 --channel bench-sio --secret S`
"""
from __future__ import annotations

import argparse

import jwt
import socketio
from aiohttp import web


def make_app(redis_url: str, channel: str, secret: str) -> web.Application:
    manager = socketio.AsyncRedisManager(redis_url, channel=channel)
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager)

    @sio.event
    async def connect(sid, environ, auth):
        try:
            claims = jwt.decode((auth or {}).get("token", ""), secret, algorithms=["HS256"])
        except jwt.InvalidTokenError as exc:
            raise socketio.exceptions.ConnectionRefusedError({"message": str(exc), "code": "token_invalid"}) from None
        await sio.enter_room(sid, f"{claims['role']}:{int(claims['sub'])}")
        await sio.enter_room(sid, "everyone")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    sio.attach(app)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stock_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--channel", required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    import uvloop

    web.run_app(make_app(args.redis, args.channel, args.secret), host="127.0.0.1", port=args.port,
                loop=uvloop.new_event_loop(), print=None, access_log=None)


if __name__ == "__main__":
    main()
