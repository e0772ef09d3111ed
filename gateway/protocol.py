"""Protocol edges a strict client or proxy notices, answered as the reference
server (Node's engine.io and socket.io) does, over python-engineio and
python-socketio through their public interfaces only:

- a request under the Socket.IO path with a method other than GET, POST or
  OPTIONS is 400 `{"code": 2, "message": "Bad handshake method"}` (not 405),
  and one without a known `transport` is 400 `{"code": 0, "message":
  "Transport unknown"}` (python-engineio takes a missing one as polling);
- a polling POST is answered `ok`, as Node does (python-engineio says `OK`);
- a CONNECT to a namespace the gateway does not serve is refused with
  `{"message": "Invalid namespace"}`, as the Socket.IO v5 protocol specifies
  (python-socketio sends the bare string "Unable to connect", which the
  official client cannot read as an error message).

The exact `pingInterval` of a sub-second setting is advertised by the fast
queue (`gateway.fast.queue.HandshakeQueue`): the OPEN packet is built inside
python-engineio.
"""
from __future__ import annotations

import socketio
from aiohttp import web

METHODS = frozenset({"GET", "POST", "OPTIONS"})
TRANSPORTS = frozenset({"polling", "websocket"})


def engineio_middleware(path: str):
    """The aiohttp middleware for requests under `path` (e.g. `/socket.io/`)."""

    @web.middleware
    async def engineio_edges(request: web.Request, handler):
        if not request.path.startswith(path):
            return await handler(request)
        if request.method not in METHODS:
            return web.json_response({"code": 2, "message": "Bad handshake method"}, status=400)
        if request.method != "OPTIONS" and request.query.get("transport") not in TRANSPORTS:
            return web.json_response({"code": 0, "message": "Transport unknown"}, status=400)
        response = await handler(request)
        if request.method == "POST" and isinstance(response, web.Response) and response.body == b"OK":
            response.body = b"ok"
        return response

    return engineio_edges


def refuse_unknown_namespaces(sio: socketio.AsyncServer) -> None:
    """Namespaces without handlers of their own reach this catch-all (the server
    must be made with `namespaces="*"`), which refuses them the v5 way."""

    async def refuse(namespace: str, sid: str, environ: dict, auth=None):
        raise socketio.exceptions.ConnectionRefusedError("Invalid namespace")

    sio.on("connect", refuse, namespace="*")
