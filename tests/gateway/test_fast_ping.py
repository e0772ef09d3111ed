"""The ping wheel (`gateway.fast.ping`) against a real python-engineio server over TCP.

A bare aiohttp + python-engineio server with a sub-second ping interval and
the wheel installed; a hand-made websocket client that reads every frame, so
each PING is seen (and answered only when the test says so).
"""
from __future__ import annotations

import asyncio
import base64
import os
import time

import engineio

from gateway.fast import queue
from gateway.fast.ping import PingWheel
from tests.gateway.helpers import run, serve_on_loopback

INTERVAL, TIMEOUT = 0.3, 1.0


class Server:
    def __init__(self, wheel: bool = True):
        self.eio = engineio.AsyncServer(async_mode="aiohttp", ping_interval=INTERVAL, ping_timeout=TIMEOUT)
        queue.install(self.eio, INTERVAL)
        self.wheel = PingWheel(self.eio, INTERVAL)
        if wheel:
            assert self.wheel.install()
        self.disconnected: list[str] = []

        @self.eio.on("disconnect")
        async def disconnect(sid, reason):
            self.disconnected.append(sid)

    async def __aenter__(self) -> "Server":
        self.runner, self.port = await serve_on_loopback(self.eio.attach)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.runner.cleanup()


class Client:
    async def __aenter__(self) -> "Client":
        return self

    async def open(self, port: int) -> "Client":
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write((f"GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101"), head
        assert (await self.text()).startswith("0{")
        return self

    async def __aexit__(self, *exc) -> None:
        self.writer.close()

    def send(self, text: str) -> None:
        payload = text.encode()
        self.writer.write(bytes((0x81, 0x80 | len(payload))) + b"\0\0\0\0" + payload)

    async def text(self, timeout: float = 5) -> str:
        head = await asyncio.wait_for(self.reader.readexactly(2), timeout)
        if head[0] & 0x0F == 0x8:  # close frame
            return "<close>"
        n = head[1] & 0x7F
        assert n < 126
        return (await asyncio.wait_for(self.reader.readexactly(n), timeout)).decode()


def ping_tasks() -> int:
    return sum(1 for t in asyncio.all_tasks() if "_send_ping" in repr(t.get_coro()))


def test_pings_come_on_time_from_the_wheel_without_a_task_per_socket():
    async def scenario():
        async with Server() as server, Client() as a, Client() as b:
            await a.open(server.port)
            await b.open(server.port)
            assert ping_tasks() == 0
            assert sum(len(s) for s in server.wheel.buckets.values()) == 2
            for _ in range(3):  # each PONG schedules the next PING, an interval (plus at most a tick) later
                start = time.monotonic()
                assert await a.text() == "2"
                assert await b.text() == "2"
                assert time.monotonic() - start < INTERVAL + server.wheel.tick + 0.25
                a.send("3")
                b.send("3")
            assert server.disconnected == []

    run(scenario())


def test_a_client_that_stops_answering_is_dropped_as_by_the_library():
    async def scenario():
        async with Server() as server, Client() as quiet, Client() as answering:
            await quiet.open(server.port)
            await answering.open(server.port)
            assert await quiet.text() == "2"  # and never answered
            deadline = time.monotonic() + INTERVAL + TIMEOUT + 3
            while not server.disconnected and time.monotonic() < deadline:
                assert await answering.text() == "2"
                answering.send("3")
            assert len(server.disconnected) == 1
            # The answering one is still pinged: it was not the one dropped.
            assert await answering.text() == "2"
            assert len(server.disconnected) == 1

    run(scenario())


def test_without_the_wheel_the_library_starts_a_task_per_socket():
    """The figure the wheel removes, so the test above can fail."""
    async def scenario():
        async with Server(wheel=False) as server, Client() as a:
            await a.open(server.port)
            assert ping_tasks() == 1

    run(scenario())
