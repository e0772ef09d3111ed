"""A client that stops reading is disconnected (`slow_consumer`), costs the
gateway a bounded amount of memory, holds nobody else up, and gets every
event back by reconnecting with `last_event_id`.

The paused client is a hand-made websocket on a socket with a small receive
buffer that stops reading after its first event, so TCP backs up for real.
200 events/s (with an 8 KB body each, so an unbounded backlog shows in RSS)
go to its conversation: written to the log and published signed on Redis,
as the API does.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import threading
import time

from sqlalchemy.orm import Session

from shared import rooms
from shared.db import make_engine
from shared.events import RedisPublisher, record_event, take_outbox
from shared.models import Conversation
from tests.gateway.conftest import EVENTS_SECRET
from tests.gateway.helpers import Sock, eventually, run

MAX_QUEUED = 200
RATE, SECONDS, PAD = 200, 8, "x" * 8000
TOTAL = RATE * SECONDS


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))


class Burst(threading.Thread):
    """`total` events in `conversation:<id>`, `RATE` a second, in order of seq:
    ten per transaction, each transaction published after its commit."""

    def __init__(self, database_url: str, redis_url: str, channel: str, conversation_id: int, total: int):
        super().__init__(daemon=True)
        self.database_url, self.conversation_id, self.total = database_url, conversation_id, total
        self.publisher = RedisPublisher(redis_url, channel, EVENTS_SECRET)
        self.ids: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        engine, room, per_tick = make_engine(self.database_url), rooms.conversation(self.conversation_id), 10
        start = time.monotonic()
        try:
            for tick in range(self.total // per_tick):
                with Session(engine) as session:
                    conversation = session.get(Conversation, self.conversation_id, with_for_update=True)
                    for n in range(tick * per_tick, (tick + 1) * per_tick):
                        conversation.last_seq += 1
                        record_event(session, room, "note:created", {"n": n, "pad": PAD},
                                     seq=conversation.last_seq, flush=False)
                    session.commit()
                    envelopes = take_outbox(session)
                self.publisher.publish(envelopes)
                self.ids += [env["id"] for env in envelopes]
                time.sleep(max(0.0, start + (tick + 1) * per_tick / RATE - time.monotonic()))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            engine.dispose()


class PausedClient:
    """Engine.IO v4 + Socket.IO over a raw websocket, blocking: connects,
    reads until its first event, then reads nothing until `drain`."""

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.events: list[dict] = []
        self.buffer = b""

    def connect(self) -> "PausedClient":
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", self.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        assert self._text().startswith("0{")
        self._send("40" + json.dumps({"token": self.token}))
        assert self._text().startswith("40{")
        return self

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        return data

    def _send(self, text: str) -> None:
        payload = text.encode()
        n = len(payload)
        length = bytes((0x80 | n,)) if n < 126 else bytes((0x80 | 126,)) + n.to_bytes(2, "big")
        self.sock.sendall(b"\x81" + length + b"\0\0\0\0" + payload)  # masked with a zero key

    def _frame(self) -> str | None:
        """The next whole text frame in the buffer, or None."""
        if len(self.buffer) < 2:
            return None
        n, start = self.buffer[1] & 0x7F, 2
        if n in (126, 127):
            width = 2 if n == 126 else 8
            if len(self.buffer) < 2 + width:
                return None
            n, start = int.from_bytes(self.buffer[2:2 + width], "big"), 2 + width
        if len(self.buffer) < start + n:
            return None
        text, self.buffer = self.buffer[start:start + n].decode(), self.buffer[start + n:]
        return text

    def _text(self) -> str:
        while True:
            text = self._frame()
            if text is None:
                self.buffer += self._recv()
            elif text == "2":
                self._send("3")  # Engine.IO ping
            else:
                return text

    def first_event(self) -> None:
        while not self.events:
            self._keep(self._text())

    def _keep(self, text: str) -> None:
        if text.startswith("42"):
            self.events.append(json.loads(text[2:])[1])

    def drain(self) -> None:
        """Read what arrived before the gateway dropped the connection, up to the close."""
        try:
            while True:
                self._keep(self._text())
        except (ConnectionError, OSError):
            pass
        self.sock.close()


def test_a_paused_socket_is_dropped_the_others_keep_up_and_it_replays_everything(
        gateways, api, token, database_url, redis_url, channel):
    gateway = gateways(GATEWAY_MAX_QUEUED=MAX_QUEUED, GATEWAY_REPLAY_CAP=TOTAL)
    cid = api.group(1, [("mentor", 21), ("student", 31), ("student", 32)])
    burst = Burst(database_url, redis_url, channel, cid, TOTAL)

    async def scenario():
        other = await Sock(gateway.url).connect(token("student", 32))
        paused = await asyncio.to_thread(PausedClient(gateway.port, token("student", 31)).connect)
        await eventually(lambda: gateway.metrics()["gateway_sockets_connected"] == 2, what="both sockets")
        burst.start()
        await asyncio.to_thread(paused.first_event)  # then it reads nothing more
        baseline, peak = rss_kb(gateway.proc.pid), 0
        dropped_after = None
        started = time.monotonic()
        while burst.is_alive() and time.monotonic() - started < SECONDS + 10:
            await asyncio.sleep(0.2)
            peak = max(peak, rss_kb(gateway.proc.pid))
            if dropped_after is None and gateway.metrics()["gateway_slow_consumer_disconnects_total"] == 1:
                dropped_after = time.monotonic() - started
        assert burst.error is None, burst.error
        assert dropped_after is not None and dropped_after < 5, f"dropped after {dropped_after}s"
        assert peak - baseline < 8_000, f"gateway RSS grew by {peak - baseline} KB"
        metrics = gateway.metrics()
        assert metrics["gateway_sockets_connected"] == 1
        assert metrics["gateway_slow_consumer_disconnects_total"] == 1

        # The other socket of the room lost nothing and kept up.
        await other.wait_for(lambda c: len(c.of("note:created")) == TOTAL, timeout=3, what="every event")
        assert [e["data"]["n"] for e in other.of("note:created")] == list(range(TOTAL))

        # The paused one sees the connection gone, and reconnecting after its last event gets the rest.
        await asyncio.to_thread(paused.drain)
        got = [e["data"]["n"] for e in paused.events]
        assert got == list(range(len(got))) and len(got) < TOTAL
        back = await Sock(gateway.url).connect(token("student", 31), last_event_id=paused.events[-1]["id"])
        await back.wait_for(lambda c: len(c.of("note:created")) == TOTAL - len(got), what="the rest")
        assert got + [e["data"]["n"] for e in back.of("note:created")] == list(range(TOTAL))
        await other.close()
        await back.close()

    run(scenario(), timeout=90)
