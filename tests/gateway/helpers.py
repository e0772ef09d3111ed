"""Clients for the gateway tests: the REST API, python-socketio, and node."""
from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from typing import Any, Callable

import requests
import socketio

JS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "js")
WAIT = 15.0


def run(coro, timeout: float = 60):
    """Run one async scenario with a hard limit."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def eventually(predicate: Callable[[], Any], timeout: float = WAIT, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Api:
    """The in-process API over real HTTP, as a given principal."""

    def __init__(self, base: str, token):
        self.base, self.token = base, token
        self.http = requests.Session()

    def call(self, method: str, path: str, who: tuple[str, int], body=None, expect=None) -> Any:
        headers = {"Authorization": f"Bearer {self.token(*who)}"}
        response = self.http.request(method, self.base + "/api/v1" + path, json=body, headers=headers, timeout=10)
        if expect is not None:
            assert response.status_code == expect, (response.status_code, response.text)
        return response.json() if response.content else None

    def group(self, admin_id: int, members: list[tuple[str, int]], title: str = "group") -> int:
        people = [{"role": role, "id": pid} for role, pid in members]
        body = {"type": "group", "title": title, "participants": people}
        return self.call("POST", "/conversations", ("admin", admin_id), body, expect=201)["id"]

    def send(self, who: tuple[str, int], conversation_id: int, body: str) -> dict:
        return self.call("POST", f"/conversations/{conversation_id}/messages", who, {"body": body}, expect=201)

    def add(self, admin_id: int, conversation_id: int, member: tuple[str, int]) -> None:
        body = {"participants": [{"role": member[0], "id": member[1]}]}
        self.call("POST", f"/conversations/{conversation_id}/participants", ("admin", admin_id), body)

    def remove(self, admin_id: int, conversation_id: int, member: tuple[str, int]) -> None:
        path = f"/conversations/{conversation_id}/participants/{member[0]}/{member[1]}"
        self.call("DELETE", path, ("admin", admin_id))

    def publish(self, target: dict, type_: str, data: dict, who=("service", 1)) -> dict:
        return self.call("POST", "/events", who, {**target, "type": type_, "data": data}, expect=201)

    async def a(self, method: str, *args, **kwargs):
        """Any of the above without blocking the event loop the clients run on."""
        return await asyncio.to_thread(getattr(self, method), *args, **kwargs)


class Sock:
    """A python-socketio AsyncClient that records everything it receives."""

    def __init__(self, url: str):
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.errors: list[Any] = []
        self.disconnects: list[str] = []
        self.sio.on("*", self._any)
        self.sio.on("connect_error", self._error)
        self.sio.on("disconnect", self._disconnect)

    async def _any(self, event, data=None):
        self.events.append((event, data))

    async def _error(self, data=None):
        self.errors.append(data)

    async def _disconnect(self, reason=None):
        self.disconnects.append(reason)

    async def connect(self, token: str | None = None, last_event_id: int | None = None, **kwargs) -> "Sock":
        auth = None
        if token is not None:
            auth = {"token": token} if last_event_id is None else {"token": token, "last_event_id": last_event_id}
        kwargs.setdefault("transports", ["websocket"])
        await self.sio.connect(kwargs.pop("url", self.url), auth=auth, wait_timeout=10, **kwargs)
        return self

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()

    def of(self, type_: str) -> list[Any]:
        return [data for name, data in self.events if name == type_]

    def ids(self) -> list[int]:
        return [data["id"] for _, data in self.events if isinstance(data, dict) and isinstance(data.get("id"), int)]

    def bodies(self) -> list[str]:
        return [e["data"]["body"] for e in self.of("message:created")]

    async def wait_for(self, predicate: Callable[["Sock"], Any], timeout: float = WAIT, what: str = "events"):
        return await eventually(lambda: predicate(self), timeout, what)


async def serve_on_loopback(attach: Callable[[Any], None]) -> tuple[Any, int]:
    """An aiohttp app that `attach` mounts a server on, listening on a free
    loopback port: (its runner, to `cleanup()`, and the port)."""
    from aiohttp import web

    app = web.Application()
    attach(app)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


async def until_live(sock: "Sock", api: Api, sender: tuple[str, int], conversation_id: int) -> None:
    """A socket's CONNECT ack comes before its replay has put it in its rooms;
    ephemeral events (presence, typing) sent in between do not reach it.
    A sentinel message in the conversation arriving proves it is in the room."""
    body = f"live? {time.monotonic_ns()}"
    await api.a("send", sender, conversation_id, body)
    await sock.wait_for(lambda c: body in c.bodies(), what="the socket live in its conversation room")


class JsClient:
    """The official socket.io-client under node (tests/js/client.js)."""

    def __init__(self, options: dict):
        node = shutil.which("node")
        if node is None or not os.path.isdir(os.path.join(JS_DIR, "node_modules", "socket.io-client")):
            raise AssertionError("node and tests/js/node_modules are required: run scripts/setup")
        self.proc = subprocess.Popen(
            [node, "client.js", json.dumps(options)], cwd=JS_DIR,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def wait(self, predicate: Callable[[dict], bool], timeout: float = WAIT) -> dict:
        for item in self.seen:
            if predicate(item):
                return item
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                item = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(item)
            if predicate(item):
                return item
        raise AssertionError(f"node client: nothing matched in {timeout}s; saw {self.seen[-10:]}")

    def emit(self, name: str, data: Any) -> None:
        self.proc.stdin.write(json.dumps({"emit": name, "data": data}) + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (subprocess.TimeoutExpired, OSError):
            self.proc.kill()
            self.proc.wait(timeout=5)


def relay_to_websocket_and_polling(gateway, api: Api, token, bodies: list[str]) -> None:
    """A group of a mentor (websocket), a student sending over REST and a
    student on long-polling: both listeners get every body, in order."""
    cid = api.group(1, [("mentor", 21), ("student", 31), ("student", 32)])

    async def scenario():
        ws = await Sock(gateway.url).connect(token("mentor", 21))
        polling = await Sock(gateway.url).connect(token("student", 32), transports=["polling"])
        try:
            for body in bodies:
                await api.a("send", ("student", 31), cid, body)
            for sock in (ws, polling):
                await sock.wait_for(lambda c: len(c.bodies()) == len(bodies), what=f"{len(bodies)} messages")
                assert sock.bodies() == bodies
        finally:
            await ws.close()
            await polling.close()

    run(scenario())
