"""The fast paths (`gateway.fast`): each behind its setting, checked against
the tested library versions at start, the library's way when off."""
from __future__ import annotations

import asyncio
import json
import logging

import pytest
import redis.asyncio as aioredis
import requests
from aiohttp import web

from gateway import fast
from gateway.app import EMITTER, FAST_PATHS, GATEWAY, SIO, init_app
from gateway.bus import PubSubSubscriber
from gateway.emit import SocketIOEmitter
from gateway.fast.emit import FastEmitter
from gateway.fast.queue import PacketQueue
from gateway.fast.subscriber import Subscriber
from shared.events import encode_channel_message
from tests.gateway.conftest import EVENTS_SECRET, free_port
from tests.gateway.helpers import Sock, eventually, relay_to_websocket_and_polling, run
from tests.pins import requirement_pins

OFF = {"GATEWAY_FAST_EMIT": "0", "GATEWAY_FAST_QUEUE": "0", "GATEWAY_FAST_SUBSCRIBER": "0"}


def test_the_tested_versions_are_the_pins_of_requirements_txt():
    pins = requirement_pins()
    assert {name: pins.get(name) for name in fast.TESTED} == dict(fast.TESTED)
    assert {name for names in fast.LEANS_ON.values() for name in names} <= set(fast.TESTED)


def test_with_the_tested_versions_installed_every_fast_path_is_on(base_config):
    """What the default suite run relies on: the fast paths are really tested."""
    assert fast.choose(base_config) == fast.FastPaths(emit=True, queue=True, subscriber=True)


def test_a_version_mismatch_falls_back_with_one_warning_line(base_config, caplog):
    tested = {**fast.TESTED, "aiohttp": "0.1.0"}
    with caplog.at_level(logging.WARNING, logger="gateway.fast"):
        paths = fast.choose(base_config, tested=tested)
    assert paths == fast.FastPaths(emit=False, queue=True, subscriber=True)
    [line] = [r.getMessage() for r in caplog.records]
    installed = fast.installed_version("aiohttp")
    assert line == f"fast emit off: aiohttp {installed} (tested 0.1.0); using python-socketio's emit"


def test_a_missing_library_and_an_engineio_mismatch_turn_off_what_leans_on_them(base_config, caplog):
    installed = {**fast.TESTED, "hiredis": None, "python-engineio": "5.0.0"}
    with caplog.at_level(logging.WARNING, logger="gateway.fast"):
        paths = fast.choose(base_config, installed=installed.get)
    assert paths == fast.FastPaths(emit=False, queue=False, subscriber=False)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "fast queue off: python-engineio 5.0.0 (tested 4.15.1); using python-engineio's asyncio.Queue",
        "fast emit off: python-engineio 5.0.0 (tested 4.15.1); using python-socketio's emit",
        "fast subscriber off: hiredis not installed (tested 3.5.0); using redis-py's PubSub",
    ]


def test_settings_turn_each_path_off_and_emit_needs_the_queue(base_config, caplog):
    assert fast.choose(base_config.replace(gateway_fast_subscriber=False)) == fast.FastPaths(True, True, False)
    assert fast.choose(base_config.replace(gateway_fast_emit=False)) == fast.FastPaths(False, True, True)
    with caplog.at_level(logging.WARNING, logger="gateway.fast"):
        assert fast.choose(base_config.replace(gateway_fast_queue=False)) == fast.FastPaths(False, False, True)
    assert [r.getMessage() for r in caplog.records] == [
        "fast emit off: it needs the fast queue (GATEWAY_FAST_QUEUE); using python-socketio's emit"]


@pytest.mark.parametrize("off", ["none", "emit", "queue", "subscriber"])
def test_each_switch_off_really_takes_the_library_path(config, token, channel, off):
    """The gateway in this process: which emitter, socket queue and
    subscriber it runs, what /metrics says, and a live event still arrives."""
    settings = {f"gateway_fast_{piece}": piece != off for piece in ("emit", "queue", "subscriber")}
    config = config.replace(**settings)
    emit_on, queue_on = off not in ("emit", "queue"), off != "queue"

    async def scenario():
        app = await init_app(config)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        sock = Sock(f"http://127.0.0.1:{port}")
        try:
            await sock.connect(token("student", 7))
            gw, sio = app[GATEWAY], app[SIO]
            await eventually(lambda: gw.registry.sockets and all(s.live for s in gw.registry.sockets.values()),
                             what="the socket to go live")
            await eventually(lambda: gw.link.subscribed, what="the Redis subscription")
            assert app[FAST_PATHS] == fast.FastPaths(emit=emit_on, queue=queue_on, subscriber=off != "subscriber")
            assert type(app[EMITTER]) is (FastEmitter if emit_on else SocketIOEmitter)
            [eio_socket] = sio.eio.sockets.values()
            assert type(eio_socket.queue) is (PacketQueue if queue_on else asyncio.Queue)
            assert gw.bus is not None and gw.bus.subscriber is (PubSubSubscriber if off == "subscriber" else Subscriber)

            envelope = {"id": 10**12 + port, "type": "notification:created", "room": "student:7", "data": {"n": 1}}
            client = aioredis.from_url(config.redis_url)
            try:
                await client.publish(channel, encode_channel_message([envelope], EVENTS_SECRET))
            finally:
                await client.aclose()
            await sock.wait_for(lambda c: envelope["id"] in c.ids(), what="the event")
            if not emit_on:
                assert (app[EMITTER].direct, app[EMITTER].queued) == (0, 1)
            text = await asyncio.to_thread(lambda: requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
            for piece, on in (("emit", emit_on), ("queue", queue_on), ("subscriber", off != "subscriber")):
                assert f'gateway_fast_path_active{{path="{piece}"}} {float(on)}' in text
        finally:
            await sock.close()
            await runner.cleanup()

    run(scenario())


def test_with_the_fast_paths_off_a_gateway_delivers_the_library_way(gateways, api, token):
    gateway = gateways(**OFF)
    relay_to_websocket_and_polling(gateway, api, token, [f"m{i}" for i in range(5)])
    metrics = gateway.metrics()
    assert [metrics[f'gateway_fast_path_active{{path="{p}"}}'] for p in ("emit", "queue", "subscriber")] == [0] * 3
    assert metrics["gateway_deliveries_direct_total"] == 0
    assert metrics["gateway_deliveries_queued_total"] >= 10
    with open(gateway.log_path, encoding="utf-8") as fh:
        assert "fast paths: emit off, queue off, subscriber off" in fh.read()


def test_the_gateway_logs_as_log_format_and_log_level_say(gateways):
    """Through shared.logs.configure_logging, as the API: JSON lines with
    LOG_FORMAT=json, nothing below LOG_LEVEL."""
    as_json = gateways(LOG_FORMAT="json", LOG_LEVEL="INFO")
    quiet = gateways(LOG_FORMAT="json", LOG_LEVEL="WARNING")
    as_json.stop(), quiet.stop()
    with open(as_json.log_path, encoding="utf-8") as fh:
        lines = [line for line in fh.read().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(r["process"] == "gateway" and {"ts", "level", "logger", "message"} <= set(r) for r in records)
    fast_line = [r for r in records if r["message"].startswith("fast paths: ")]
    assert fast_line and fast_line[0]["level"] == "INFO" and fast_line[0]["logger"] == "gateway.app"
    assert any("Running on" in r["message"] for r in records)
    with open(quiet.log_path, encoding="utf-8") as fh:
        quiet_records = [json.loads(line) for line in fh.read().splitlines() if line.strip()]
    assert not [r for r in quiet_records if r["level"] in ("DEBUG", "INFO")]
