"""Gateway application factory: aiohttp + python-socketio.

`init_app(config)` decides the fast paths (`gateway.fast`), makes the
Socket.IO server and its emitter, and adds the routes. The resources with a
lifetime are made in `cleanup_ctx`, in dependency order: the database
engines, the Redis client, then the parts (`build`, which hands each part
what it uses) and their background tasks. `on_shutdown` closes every
socket's transport so clients reconnect to another gateway.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from contextlib import suppress
from dataclasses import dataclass

import socketio
from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from sqlalchemy.engine import Engine

from gateway import fast
from gateway.admin import setup_admin_ui
from gateway.backpressure import SlowConsumers
from gateway.bus import Bus, BusLink, SignedChannel
from gateway.client_files import setup_client_files
from gateway.connect import Connections
from gateway.database import Database
from gateway.demo import setup_demo
from gateway.emit import SocketIOEmitter
from gateway.event_docs import setup_event_docs
from gateway.fanout import Fanout
from gateway.fast import FastPaths
from gateway.health import healthz, readyz_handler
from gateway.logreader import LogReader
from gateway.lookup import RoomLookup, lookup_engine
from gateway.metrics import CONTENT_TYPE, GatewayCollector, Metrics, render
from gateway.presence import Presence
from gateway.presence_log import PresenceLog
from gateway.presence_store import presence_store
from gateway.protocol import engineio_middleware, refuse_unknown_namespaces
from gateway.registry import Registry
from gateway.relay import Relay
from gateway.replay import Replay
from gateway.sharded_bus import ShardedBus, WantedRooms
from gateway.tasks import Tasks, stop
from gateway.typing import Typing
from shared.config import Config
from shared.db import make_engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gateway:
    """The parts of one running gateway (built by `build`, in this order)."""

    id: str
    metrics: Metrics
    tasks: Tasks
    registry: Registry
    link: BusLink
    relay: Relay
    fanout: Fanout
    bus: Bus | ShardedBus | None  # None without Redis: the relay reads the log
    typing: Typing
    presence: Presence
    lookup: RoomLookup
    replay: Replay
    connections: Connections
    collector: GatewayCollector


CONFIG = web.AppKey("config", Config)
FAST_PATHS = web.AppKey("fast_paths", FastPaths)
SIO = web.AppKey("sio", socketio.AsyncServer)
EMITTER = web.AppKey("emitter", SocketIOEmitter)
SLOW_CONSUMERS = web.AppKey("slow_consumers", SlowConsumers)
DATABASE = web.AppKey("database", Database)
LOOKUP_ENGINE: web.AppKey[Engine | None] = web.AppKey("lookup_engine")
REDIS: web.AppKey[Redis | None] = web.AppKey("redis")
PRESENCE_REDIS: web.AppKey[Redis | None] = web.AppKey("presence_redis")
CLUSTER: web.AppKey[RedisCluster | None] = web.AppKey("cluster")
GATEWAY = web.AppKey("gateway", Gateway)


def build(config: Config, sio: socketio.AsyncServer, emitter: SocketIOEmitter, slow: SlowConsumers,
          paths: FastPaths, db: Database, lookup_db: Engine | None, redis: Redis | None,
          cluster: RedisCluster | None = None, presence_redis: Redis | None = None) -> Gateway:
    """Every part, each made from the ones before it (`presence_redis`: the
    presence store's own client, else `redis`)."""
    gateway_id = uuid.uuid4().hex[:12]
    metrics, tasks, link = Metrics(), Tasks(), BusLink()
    # On Redis Cluster the registry says which rooms the bus subscribes to.
    wanted = WantedRooms() if cluster is not None else None
    registry = Registry(sio, on_expired=lambda sid: tasks.spawn(sio.disconnect(sid)), watch=wanted)
    signed = SignedChannel(config.events_signing_secret, metrics, config.events_max_age, config.events_accept_v1)
    relay = Relay(config, registry, emitter, LogReader(db, config.gateway_late_commit_window), signed, link,
                  metrics)
    fanout = Fanout(gateway_id, config.events_channel, redis, link, signed, cluster)
    bus: Bus | ShardedBus | None = None
    if wanted is not None:
        bus = ShardedBus(config.redis_cluster_nodes, config.events_channel, wanted, relay.on_channel_message,
                         fanout.receive, link, signed, metrics)
    elif redis is not None and config.redis_url:
        bus = Bus(config.redis_url, config.events_channel, relay.on_channel_message, fanout.receive, link, signed,
                  metrics, fast.subscriber_factory(paths))
    store = presence_store(presence_redis or redis, config.events_channel)
    presence = Presence(config, sio, registry, fanout, store, db, gateway_id, tasks, PresenceLog(db, tasks))
    typing = Typing(config, sio, registry, fanout, metrics, tasks, presence.touch)
    lookup = RoomLookup(db, lookup_db, tasks)
    replay = Replay(config.gateway_replay_cap, sio, registry, db, relay, metrics)
    connections = Connections(config, sio, registry, lookup, replay, typing, presence, metrics, tasks)
    collector = GatewayCollector(metrics, registry, emitter, slow, lookup, link if bus is not None else None, paths)
    return Gateway(gateway_id, metrics, tasks, registry, link, relay, fanout, bus, typing, presence, lookup, replay,
                   connections, collector)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text: sockets, events relayed/replayed/dropped, Redis reconnects, fast paths."""
    return web.Response(body=render(request.app[GATEWAY].collector), headers={"Content-Type": CONTENT_TYPE})


def setup_routes(app: web.Application, config: Config) -> None:
    app.router.add_get("/healthz", healthz)
    setup_event_docs(app)
    app.router.add_get("/readyz", readyz_handler(lambda r: r.app[DATABASE], lambda r: r.app[REDIS],
                                                 lambda r: r.app[GATEWAY]))
    if config.gateway_metrics:
        app.router.add_get("/metrics", metrics)
    setup_client_files(app, config.cors_origins)
    if config.gateway_demo:
        setup_demo(app)


def setup_socketio(app: web.Application, config: Config) -> None:
    """The Socket.IO server with the fast paths its settings and the installed
    libraries allow (`gateway.fast.choose`), the emitter the relay uses, and
    the bound on each socket's backlog (`gateway.backpressure`)."""
    paths = fast.choose(config)
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins=config.cors_origins or [],
        ping_interval=config.gateway_ping_interval,
        ping_timeout=config.gateway_ping_timeout,
        # Every namespace reaches a handler, so unknown ones are refused the v5 way (gateway.protocol).
        namespaces="*",
    )
    refuse_unknown_namespaces(sio)
    app.middlewares.append(engineio_middleware("/socket.io/"))
    fast.install_queue(sio, paths, config.gateway_ping_interval)
    slow = SlowConsumers(sio, config.gateway_max_queued)
    app.middlewares.append(slow.middleware)
    emitter = fast.make_emitter(sio, paths, slow, compression=config.gateway_ws_compression)
    paths = dataclasses.replace(paths, emit=emitter.fast)
    log.info("fast paths: %s", paths.describe())
    sio.attach(app)
    setup_admin_ui(app, sio, config)
    app[FAST_PATHS], app[SIO], app[EMITTER], app[SLOW_CONSUMERS] = paths, sio, emitter, slow


async def database_ctx(app: web.Application):
    url = app[CONFIG].database_url
    app[DATABASE], app[LOOKUP_ENGINE] = Database(make_engine(url)), lookup_engine(url)
    yield
    app[DATABASE].engine.dispose()
    if app[LOOKUP_ENGINE] is not None:
        app[LOOKUP_ENGINE].dispose()


async def redis_ctx(app: web.Application):
    """A Redis client when REDIS_URL is set (presence store, fan-out publish,
    readiness), a Redis Cluster client when REDIS_CLUSTER_NODES is."""
    url = app[CONFIG].redis_url
    redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=10) if url else None
    app[REDIS] = redis
    # The presence store's pipelines: one deadline per operation instead of a timer per reply (RedisStore).
    presence = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=None, health_check_interval=10) \
        if url else None
    app[PRESENCE_REDIS] = presence
    # The cluster client publishes typing and presence (SPUBLISH); it connects on first use.
    nodes = app[CONFIG].redis_cluster_nodes
    cluster = RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in nodes], socket_connect_timeout=2,
                           socket_timeout=5) if nodes else None
    app[CLUSTER] = cluster
    yield
    for client in (redis, presence, cluster):
        if client is not None:
            with suppress(Exception):
                await asyncio.wait_for(client.aclose(), 2)


async def gateway_ctx(app: web.Application):
    """The parts, and their loops: log reader, presence heartbeat, Redis subscription."""
    gw = app[GATEWAY] = build(app[CONFIG], app[SIO], app[EMITTER], app[SLOW_CONSUMERS], app[FAST_PATHS],
                              app[DATABASE], app[LOOKUP_ENGINE], app[REDIS], app[CLUSTER],
                              app[PRESENCE_REDIS])
    # Where the log ends, before the bus subscribes: logged events the bus
    # brings are relayed only above it (`Relay._after_start`), so none is
    # dropped for having come before the reader knew where to start.
    await gw.relay.reader.start()
    loops = [gw.relay.run_reader(), gw.presence.run_heartbeat()] + ([gw.bus.run()] if gw.bus else [])
    tasks = [asyncio.create_task(loop) for loop in loops]
    yield
    await stop(tasks)
    await gw.tasks.cancel_all()


async def close_sockets(app: web.Application) -> None:
    """Close every transport (not a Socket.IO disconnect, which clients would
    take as final): clients see a transport close and reconnect elsewhere."""
    sio, gw = app[SIO], app[GATEWAY]
    if isinstance(gw.bus, ShardedBus):
        gw.bus.closing()  # before the sockets go: no SUNSUBSCRIBE per room they held
    await gw.presence.shutdown()
    eio = sio.eio
    # abort: no Engine.IO CLOSE packet, which python-socketio clients also take as final.
    for eio_socket in list(eio.sockets.values()):
        with suppress(Exception):
            await eio_socket.close(wait=False, abort=True, reason=eio.reason.SERVER_DISCONNECT)
            await eio_socket.queue.put(None)  # ends its writer, which closes the WebSocket
    eio.sockets.clear()
    await sio.shutdown()


async def init_app(config: Config) -> web.Application:
    app = web.Application()
    app[CONFIG] = config
    setup_socketio(app, config)
    setup_routes(app, config)
    app.cleanup_ctx.extend([database_ctx, redis_ctx, gateway_ctx])
    app.on_shutdown.append(close_sockets)
    return app
