"""The fast broadcast layer (`gateway.fast.emit`) against real clients over TCP.

Each test starts aiohttp + python-socketio in its own event loop on a free
loopback port with a `FastEmitter` installed, and checks that clients get
from `FastEmitter.emit` byte for byte what python-socketio's own `emit`
sends, in order with what the library queued before, and that anything the
layer does not expect sends the packet the library's way instead.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os

import aiohttp
import socketio
from engineio import packet as eio_packet

from gateway.fast import queue
from gateway.fast.emit import FastEmitter, ws_frame
from tests.gateway.helpers import eventually, relay_to_websocket_and_polling, run, serve_on_loopback

TIMEOUT = 10


class Server:
    """A bare python-socketio server; `auth.rooms` names the rooms a client joins."""

    def __init__(self, compression: bool = False, install: bool = True):
        self.sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=5, ping_timeout=5)
        queue.install(self.sio.eio)
        self.fast = FastEmitter(self.sio, compression=compression)
        if install:
            assert self.fast.install()

        @self.sio.event
        async def connect(sid, environ, auth):
            for room in (auth or {}).get("rooms", ["r"]):
                await self.sio.enter_room(sid, room)

    async def __aenter__(self) -> "Server":
        self.runner, self.port = await serve_on_loopback(self.sio.attach)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.runner.cleanup()

    def eio_sid(self, sid: str) -> str:
        return self.sio.manager.eio_sid_from_sid(sid, "/")


def payload(raw: bytes) -> str:
    """The text of one unmasked frame."""
    n = raw[1] & 0x7F
    return raw[2 + (2 if n == 126 else 8 if n == 127 else 0):].decode()


class FrameClient:
    """Engine.IO v4 over a hand-made websocket: returns each frame's raw bytes."""

    def __init__(self, port: int, rooms=("r",), deflate: bool = False):
        self.port, self.rooms, self.deflate = port, list(rooms), deflate

    async def __aenter__(self) -> "FrameClient":
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        key = base64.b64encode(os.urandom(16)).decode()
        extension = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if self.deflate else ""
        self.writer.write((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n{extension}\r\n").encode())
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.negotiated_deflate = b"permessage-deflate" in head.lower()
        assert (await self.text()).startswith("0{")
        self.send("40" + json.dumps({"rooms": self.rooms}))
        reply = await self.text()
        assert reply.startswith("40{"), reply
        self.sid = json.loads(reply[2:])["sid"]
        return self

    async def __aexit__(self, *exc) -> None:
        self.writer.close()

    def send(self, text: str) -> None:
        payload = text.encode()
        assert len(payload) < 126
        self.writer.write(bytes((0x81, 0x80 | len(payload))) + b"\0\0\0\0" + payload)

    async def frame(self) -> bytes:
        """One whole frame as sent (answering Engine.IO pings on the way)."""
        while True:
            head = await asyncio.wait_for(self.reader.readexactly(2), TIMEOUT)
            n, extra = head[1] & 0x7F, b""
            if n == 126:
                extra = await self.reader.readexactly(2)
                n = int.from_bytes(extra, "big")
            elif n == 127:
                extra = await self.reader.readexactly(8)
                n = int.from_bytes(extra, "big")
            raw = head + extra + await asyncio.wait_for(self.reader.readexactly(n), TIMEOUT)
            if raw[-n:] == b"2" and n == 1:
                self.send("3")
                continue
            return raw

    async def text(self) -> str:
        raw = await self.frame()
        assert raw[0] == 0x81, "a final, uncompressed text frame"
        return payload(raw)

    async def nothing_more(self, within: float = 0.3) -> bool:
        try:
            await asyncio.wait_for(self.frame(), within)
        except asyncio.TimeoutError:
            return True
        return False


async def idle(server: Server, *clients: FrameClient) -> None:
    """Until each client's Engine.IO writer is parked (a direct write is allowed)."""
    await eventually(lambda: all(server.fast._writable(server.eio_sid(c.sid)) for c in clients), TIMEOUT, "idle")


PAYLOADS = [
    {"id": 1, "type": "message:created", "room": "r", "data": {"body": "plain"}},
    {"body": "unicode é ✓ 😀 \u2028 \"quotes\" \\ back \x00 \t"},
    {"mid": "y" * 300},  # 2-byte length
    {"big": "x" * 70_000},  # 8-byte length
    {"edge": "z" * (125 - len('42["e",{"edge":""}]'))},  # exactly 125 bytes: the 1-byte form's limit
    ["a", 1, None, True, 2.5],
]


def test_frame_headers_match_rfc6455():
    assert ws_frame(b"abc") == b"\x81\x03abc"
    assert ws_frame(b"a" * 125)[:2] == b"\x81\x7d"
    assert ws_frame(b"a" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert ws_frame(b"a" * 65535)[:4] == b"\x81\x7e\xff\xff"
    assert ws_frame(b"a" * 65536)[:10] == b"\x81\x7f" + (65536).to_bytes(8, "big")


def test_same_bytes_as_the_library():
    async def scenario():
        async with Server() as server:
            async with FrameClient(server.port) as a, FrameClient(server.port) as b:
                for data in PAYLOADS:
                    await server.sio.emit("e", data, to="r")
                    stock = [await a.frame(), await b.frame()]
                    await idle(server, a, b)
                    assert await server.fast.emit("e", data, "r") == 2
                    assert [await a.frame(), await b.frame()] == stock
                    assert json.loads(payload(stock[0])[2:]) == ["e", data]
                assert (server.fast.direct, server.fast.queued) == (2 * len(PAYLOADS), 0)

    run(scenario())


def test_binary_data_goes_the_library_way_as_attachments():
    """bytes cannot be JSON: the packet goes out as the library's binary event."""
    async def scenario():
        async with Server() as server:
            client = socketio.AsyncClient(reconnection=False)
            got = asyncio.get_running_loop().create_future()
            client.on("e", lambda data: got.done() or got.set_result(data))
            await client.connect(f"http://127.0.0.1:{server.port}", transports=["websocket"], auth={"rooms": ["r"]})
            try:
                await eventually(lambda: server.sio.manager.rooms.get("/", {}).get("r"), TIMEOUT, "in room")
                assert await server.fast.emit("e", {"blob": b"\x00\x01\xff", "n": 1}, "r") == 1
                assert await asyncio.wait_for(got, TIMEOUT) == {"blob": b"\x00\x01\xff", "n": 1}
                assert (server.fast.direct, server.fast.queued) == (0, 1)
            finally:
                await client.disconnect()

    run(scenario())


def test_each_length_header_direct():
    async def scenario():
        async with Server() as server, FrameClient(server.port) as a:
            for data in PAYLOADS:
                await idle(server, a)
                assert await server.fast.emit("e", data, "r") == 1
                raw = await a.frame()
                assert raw == ws_frame(('42' + json.dumps(["e", data], separators=(",", ":"))).encode())
                assert json.loads(payload(raw)[2:]) == ["e", data]
            assert (server.fast.direct, server.fast.queued) == (len(PAYLOADS), 0)

    run(scenario())


def test_order_kept_with_packets_the_library_queued():
    async def scenario():
        async with Server() as server, FrameClient(server.port) as a:
            n = 300
            for i in range(n):
                if i % 3 == 0:
                    # Queued by the library (Engine.IO's send puts it on the socket's
                    # queue without yielding), so the next emits find it unwritten.
                    text = "2" + json.dumps(["e", {"i": i}], separators=(",", ":"))
                    await server.sio.eio.send_packet(server.eio_sid(a.sid), eio_packet.Packet(eio_packet.MESSAGE, text))
                elif i % 3 == 2:
                    await server.sio.emit("e", {"i": i}, to=a.sid)  # the library's whole emit path
                else:
                    await server.fast.emit("e", {"i": i}, "r")
                if i % 40 == 0:
                    await asyncio.sleep(0.01)  # let the writer catch up now and then
            got = [json.loads((await a.text())[2:])[1]["i"] for _ in range(n)]
            assert got == list(range(n))
            assert server.fast.direct > 0 and server.fast.queued > 0

    run(scenario())


def test_rooms_and_skip_sid():
    async def scenario():
        async with Server() as server:
            async with FrameClient(server.port, rooms=["r"]) as a, FrameClient(server.port, rooms=["r", "s"]) as b:
                assert await server.fast.emit("e", {"n": 1}, "r", skip_sid=[a.sid, b.sid]) == 0
                assert await server.fast.emit("e", {"n": 2}, "nobody") == 0
                assert await server.fast.emit("e", {"n": 3}, "r", skip_sid=[a.sid]) == 1
                assert await server.fast.emit("e", {"n": 4}, "s") == 1
                assert await server.fast.emit("e", {"n": 5}, "r") == 2
                assert [json.loads((await a.text())[2:])[1]["n"] for _ in range(1)] == [5]
                assert [json.loads((await b.text())[2:])[1]["n"] for _ in range(3)] == [3, 4, 5]
                assert await a.nothing_more() and await b.nothing_more()

    run(scenario())


def test_deflate_is_not_negotiated_by_default():
    async def scenario():
        async with Server() as server, FrameClient(server.port, deflate=True) as a:
            assert not a.negotiated_deflate
            await idle(server, a)
            assert await server.fast.emit("e", {"n": 1}, "r") == 1
            assert json.loads((await a.text())[2:]) == ["e", {"n": 1}]
            assert server.fast.direct == 1

    run(scenario())


def test_compressed_and_polling_clients_take_the_library_path():
    async def scenario():
        async with Server(compression=True) as server, aiohttp.ClientSession() as session:
            received: list = []
            polling = socketio.AsyncClient(reconnection=False)
            polling.on("e", lambda data: received.append(data))
            await polling.connect(f"http://127.0.0.1:{server.port}", transports=["polling"],
                                  auth={"rooms": ["r"]}, wait_timeout=TIMEOUT)
            try:
                url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
                async with session.ws_connect(url, compress=15) as ws:
                    assert ws.compress, "the client should have negotiated permessage-deflate"
                    assert (await ws.receive_str(timeout=TIMEOUT)).startswith("0{")
                    await ws.send_str('40{"rooms":["r"]}')
                    assert (await ws.receive_str(timeout=TIMEOUT)).startswith("40{")
                    for i in range(5):
                        assert await server.fast.emit("e", {"i": i, "s": "é" * 200}, "r") == 2
                    texts = []
                    while len(texts) < 5:
                        text = await ws.receive_str(timeout=TIMEOUT)
                        if text != "2":
                            texts.append(text)
                    assert [json.loads(t[2:])[1]["i"] for t in texts] == list(range(5))
                await eventually(lambda: len(received) == 5, TIMEOUT, "polling deliveries")
                assert received == [{"i": i, "s": "é" * 200} for i in range(5)]
                assert (server.fast.direct, server.fast.queued) == (0, 10)
            finally:
                await polling.disconnect()

    run(scenario())


def test_python_socketio_client_over_websocket():
    async def scenario():
        async with Server() as server:
            received: list = []
            client = socketio.AsyncClient(reconnection=False)
            client.on("message:created", lambda data: received.append(data))
            await client.connect(f"http://127.0.0.1:{server.port}", transports=["websocket"],
                                 auth={"rooms": ["r"]}, wait_timeout=TIMEOUT)
            try:
                for data in PAYLOADS:
                    await server.fast.emit("message:created", data, "r")
                await eventually(lambda: len(received) == len(PAYLOADS), TIMEOUT, "deliveries")
                assert received == PAYLOADS
                assert server.fast.direct > 0
            finally:
                await client.disconnect()

    run(scenario())


def test_an_unexpected_socket_entry_falls_back_to_the_library():
    async def scenario():
        async with Server() as server, FrameClient(server.port) as a:
            eio_sid = server.eio_sid(a.sid)
            eio_socket, _response, transport = server.fast.sockets[eio_sid]
            server.fast.sockets[eio_sid] = (eio_socket, object(), transport)  # no .closed, no .compress
            assert await server.fast.emit("e", {"n": 1}, "r") == 1
            assert json.loads((await a.text())[2:]) == ["e", {"n": 1}]
            assert (server.fast.direct, server.fast.queued) == (0, 1)

    run(scenario())


def test_an_unexpected_driver_leaves_the_fast_path_off():
    async def scenario():
        async with Server(install=False) as server:
            table = server.sio.eio._async
            server.sio.eio._async = dict(table, websocket=None)
            assert not server.fast.install()
            server.sio.eio._async = table
            async with FrameClient(server.port) as a:
                assert await server.fast.emit("e", {"n": 1}, "r") == 1
                assert json.loads((await a.text())[2:]) == ["e", {"n": 1}]
            assert (server.fast.direct, server.fast.queued) == (0, 1)

    run(scenario())


def test_a_driver_without_the_expected_attributes_still_delivers():
    from engineio.async_drivers.aiohttp import WebSocket

    class Changed(WebSocket):
        """A future driver that no longer keeps `environ` on itself."""
        environ = property(lambda self: None, lambda self, value: None)

    async def scenario():
        async with Server(install=False) as server:
            server.sio.eio._async = dict(server.sio.eio._async, websocket=Changed)
            assert server.fast.install()
            async with FrameClient(server.port) as a:
                assert server.fast.sockets == {}
                assert await server.fast.emit("e", {"n": 1}, "r") == 1
                assert json.loads((await a.text())[2:]) == ["e", {"n": 1}]
            assert (server.fast.direct, server.fast.queued) == (0, 1)

    run(scenario())


def test_the_gateway_relays_through_the_fast_path(gateways, api, token):
    """End to end: websocket clients get live events written directly, a
    polling client through the library's queue, both in order."""
    # The fast paths on whatever the run's GATEWAY_FAST_* say; a quick polling disconnect.
    gateway = gateways(GATEWAY_FAST_EMIT="1", GATEWAY_FAST_QUEUE="1", GATEWAY_PING_INTERVAL="1",
                       GATEWAY_PING_TIMEOUT="3")
    relay_to_websocket_and_polling(gateway, api, token, [f"m{i} é😀" for i in range(5)])
    metrics = gateway.metrics()
    assert metrics["gateway_deliveries_direct_total"] >= 1
    assert metrics["gateway_deliveries_queued_total"] >= 5
