"""Gateway application factory: aiohttp + python-socketio.

`init_app(config)` wires the parts with `setup_*` helpers; resources with a
lifetime (database engine, Redis client, background tasks) live in
`cleanup_ctx`, and `on_shutdown` closes every socket's transport so clients
reconnect to another gateway.
"""
from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import socketio
from aiohttp import web

from gateway.connect import setup_connect
from gateway.demo import setup_demo
from gateway.fanout import Fanout
from gateway.fastemit import FastEmitter
from gateway.hub import Hub
from gateway.lookup import lookup_engine
from gateway.presence import Presence
from gateway.relay import Relay
from gateway.typing import Typing
from shared.config import Config
from shared.db import make_engine

log = logging.getLogger(__name__)

CONFIG: web.AppKey[Config] = web.AppKey("config", Config)
SIO: web.AppKey[socketio.AsyncServer] = web.AppKey("sio", socketio.AsyncServer)
HUB: web.AppKey[Hub] = web.AppKey("hub", Hub)


async def healthz(request: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text: sockets, events relayed/replayed/dropped, Redis reconnects."""
    hub = request.app[HUB]
    hub.metrics.deliveries_direct, hub.metrics.deliveries_queued = hub.fast.direct, hub.fast.queued
    hub.metrics.room_lookups = hub.lookup.batcher.batches
    subscribed = hub.relay.subscribed if hub.redis is not None else None
    return web.Response(text=hub.metrics.render(len(hub.registry), subscribed), content_type="text/plain")


def setup_routes(app: web.Application, config: Config) -> None:
    app.router.add_get("/healthz", healthz)
    if config.gateway_metrics:
        app.router.add_get("/metrics", metrics)
    if config.gateway_demo:
        setup_demo(app)


def setup_socketio(app: web.Application, config: Config) -> Hub:
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins=config.cors_origins or [],
        ping_interval=config.gateway_ping_interval,
        ping_timeout=config.gateway_ping_timeout,
    )
    hub = Hub(config, sio)
    hub.fast = FastEmitter(sio, compression=config.gateway_ws_compression)
    hub.fast.install()
    hub.relay = Relay(hub)
    hub.fanout = Fanout(hub)
    hub.typing = Typing(hub)
    hub.presence = Presence(hub)
    setup_connect(hub)
    sio.attach(app)
    app[SIO] = sio
    app[HUB] = hub
    return hub


async def database_ctx(app: web.Application):
    hub = app[HUB]
    hub.engine = make_engine(app[CONFIG].database_url)
    hub.lookup.engine = lookup_engine(app[CONFIG].database_url)
    yield
    hub.engine.dispose()
    if hub.lookup.engine is not None:
        hub.lookup.engine.dispose()


async def redis_ctx(app: web.Application):
    """A Redis client when REDIS_URL is set (presence store, fan-out, relay)."""
    hub, url = app[HUB], app[CONFIG].redis_url
    if url:
        import redis.asyncio as aioredis

        hub.redis = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=10)
        hub.presence.use_redis(hub.redis)
    yield
    if hub.redis is not None:
        with suppress(Exception):
            await hub.redis.aclose()


async def tasks_ctx(app: web.Application):
    hub = app[HUB]
    tasks = [asyncio.create_task(hub.relay.run_reader()), asyncio.create_task(hub.presence.run_heartbeat())]
    if hub.redis is not None:
        tasks.append(asyncio.create_task(hub.relay.run_subscriber()))
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await hub.cancel_tasks()


async def close_sockets(app: web.Application) -> None:
    """Close every transport (not a Socket.IO disconnect, which clients would
    take as final): clients see a transport close and reconnect elsewhere."""
    hub = app[HUB]
    await hub.presence.shutdown()
    eio = hub.sio.eio
    # abort: no Engine.IO CLOSE packet, which python-socketio clients also take as final.
    for eio_socket in list(eio.sockets.values()):
        with suppress(Exception):
            await eio_socket.close(wait=False, abort=True, reason=eio.reason.SERVER_DISCONNECT)
            await eio_socket.queue.put(None)  # ends its writer, which closes the WebSocket
    eio.sockets.clear()
    await hub.sio.shutdown()


async def init_app(config: Config) -> web.Application:
    app = web.Application()
    app[CONFIG] = config
    setup_routes(app, config)
    setup_socketio(app, config)
    app.cleanup_ctx.extend([database_ctx, redis_ctx, tasks_ctx])
    app.on_shutdown.append(close_sockets)
    return app
