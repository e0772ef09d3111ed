"""Fast room broadcast: encode once per event, write each idle websocket directly.

python-socketio's `emit` to a room encodes the packet once, but then for each
recipient creates a task that goes through `AsyncSocket.send` into the
socket's queue, where a writer task (one `wait_for(queue.get())` per wake-up)
frames the text with aiohttp's `send_str`. Per delivery that is a task, a
queue hop, a timeout handle and a frame build: most of the server's CPU in a
fan-out.

`FastEmitter.emit` puts the same bytes on the wire with less work: the
Socket.IO packet is encoded by the library's own classes, and the Engine.IO
text and the websocket frame (FIN + text opcode, unmasked, as aiohttp's server
writer builds it) once per event; the frame is then written to each
recipient's transport. A socket takes that direct write only when it cannot
reorder or corrupt what python-engineio sends it; otherwise the packet goes
the library's way (`eio.send_packet`, queued behind what is already there):

- it is an upgraded websocket, not closing, not mid-upgrade;
- permessage-deflate was not negotiated (a deflate stream is per connection);
- its Engine.IO writer is parked on its empty queue (`gateway.fast.queue.
  PacketQueue.consumer_waiting`, so this path needs GATEWAY_FAST_QUEUE too),
  so everything queued before has already been written to the transport;
- the transport is not backed up (a slow reader falls back to the queue and
  so to aiohttp's flow control; what its transport still holds counts
  towards the socket's bound, `gateway.backpressure`).

To reach each socket's transport, `install` gives this Engine.IO server a
subclass of its own aiohttp websocket driver (through the server's driver
table, a per-server copy: the installed library is not modified) that records
the socket, its `WebSocketResponse` and transport while the connection lives.
It also decides compression: off unless asked for (`compression=True`), as
Node's socket.io does (`perMessageDeflate: false`).

This leans on private details of python-engineio 4 / aiohttp 3 (the pinned
versions in requirements.txt, checked at start by `gateway.fast.choose`):
the driver table `eio._async`, the driver's `_sock`/`environ`/`handler`.
`install` checks them once and leaves the fast path off if they are not
there; every per-socket check treats a missing attribute as "not writable",
so a mismatch costs speed, never a delivery.
"""
from __future__ import annotations

import logging
import struct
from typing import Any, Iterable

import socketio
from aiohttp.web import WebSocketResponse
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from gateway.backpressure import SlowConsumers
from gateway.emit import SocketIOEmitter
from gateway.fast.queue import PacketQueue
from gateway.registry import NAMESPACE

log = logging.getLogger(__name__)
EVENT_PREFIX = str(sio_packet.EVENT)
MESSAGE_PREFIX = str(eio_packet.MESSAGE).encode()
# Bytes waiting in a transport beyond which its deliveries take the queue.
BACKLOG_LIMIT = 64 * 1024


def ws_frame(payload: bytes) -> bytes:
    """An unmasked, uncompressed, final text frame (RFC 6455 5.2)."""
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", 0x81, n) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


def _entry(eio_socket: Any, ws: Any) -> tuple | None:
    """(engine.io socket, WebSocketResponse, transport), or None if the
    driver does not look as expected (that socket then takes the queue)."""
    response = getattr(ws, "_sock", None)
    environ = getattr(ws, "environ", None)
    request = environ.get("aiohttp.request") if isinstance(environ, dict) else None
    transport = getattr(request, "transport", None)
    if eio_socket is None or not isinstance(response, WebSocketResponse) or transport is None:
        return None
    if not hasattr(transport, "write") or not isinstance(getattr(eio_socket, "queue", None), PacketQueue):
        return None
    return eio_socket, response, transport


def _driver(base: type, sockets: dict, compression: bool, own_call: bool) -> type:
    inline = own_call and not compression

    class TrackedWebSocket(base):
        """The driver's websocket, remembering each connection while it lives."""

        def __init__(self, handler, server):
            if inline:  # tracked in __call__: no closure kept per connection
                super().__init__(handler, server)
                return
            eio_socket = getattr(handler, "__self__", None)

            async def tracked(ws):
                entry = _entry(eio_socket, ws)
                if entry is not None:
                    sockets[eio_socket.sid] = entry
                try:
                    return await handler(ws)
                finally:
                    if entry is not None and sockets.get(eio_socket.sid) is entry:
                        del sockets[eio_socket.sid]

            super().__init__(tracked, server)

        async def __call__(self, environ):
            if not inline:
                return await super().__call__(environ)
            # The base driver's __call__ (python-engineio 4.x), with deflate off.
            request = environ["aiohttp.request"]
            self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
            await self._sock.prepare(request)
            self.environ = environ
            eio_socket = getattr(self.handler, "__self__", None)
            entry = _entry(eio_socket, self)
            if entry is not None:
                sockets[eio_socket.sid] = entry
            try:
                await self.handler(self)
            finally:
                if entry is not None and sockets.get(eio_socket.sid) is entry:
                    del sockets[eio_socket.sid]
            return self._sock

    return TrackedWebSocket


class FastEmitter(SocketIOEmitter):
    """`emit` writing each idle websocket directly; the library's way otherwise.
    The server's sockets must have `PacketQueue`s (`gateway.fast.queue.install`)."""

    fast = True

    def __init__(self, sio: socketio.AsyncServer, slow: SlowConsumers | None = None, compression: bool = False):
        super().__init__(sio, slow)
        self.compression = compression
        self.enabled = False
        # Engine.IO sid -> (engine.io AsyncSocket, aiohttp WebSocketResponse, transport)
        self.sockets: dict[str, tuple[Any, Any, Any]] = {}

    def install(self) -> bool:
        """Hook the websocket driver; False (library path only) if the
        installed python-engineio does not look as this layer expects."""
        eio = self.sio.eio
        table = getattr(eio, "_async", None)
        base = table.get("websocket") if isinstance(table, dict) else None
        if getattr(self.sio, "async_mode", None) != "aiohttp" or not isinstance(base, type) \
                or not hasattr(eio, "send_packet"):
            log.warning("fast emit disabled: python-engineio's aiohttp driver is not as expected")
            return False
        try:
            from engineio.async_drivers.aiohttp import WebSocket as known
        except ImportError:  # pragma: no cover - checked above through the table
            known = None
        own_call = base is known
        if not own_call and not self.compression:
            log.warning("fast emit: unknown websocket driver %r; leaving its compression setting alone", base)
        eio._async = dict(table, websocket=_driver(base, self.sockets, self.compression, own_call))
        self.enabled = True
        return True

    def _writable(self, eio_sid: str):
        """The transport to write to now, or None: take the queue."""
        entry = self.sockets.get(eio_sid)
        if entry is None:
            return None
        eio_socket, response, transport = entry
        try:
            if (eio_socket.closed or eio_socket.closing or eio_socket.upgrading or not eio_socket.upgraded
                    or response.closed or response.compress or transport.is_closing()
                    or transport.get_write_buffer_size() > BACKLOG_LIMIT):
                return None
            # The writer is parked in queue.get(): nothing taken but unwritten.
            return transport if eio_socket.queue.consumer_waiting() else None
        except AttributeError:
            return None

    async def emit(self, event: str, data: Any, room: str, skip_sid: Iterable[str] | None = None) -> int:
        """Emit `event` with `data` (one argument) to the sockets of `room` in
        this process, except `skip_sid`; returns how many it went to."""
        if not self.enabled:
            return await self._library_emit(event, data, room, skip_sid)
        try:
            # What socketio.Packet.encode makes of an EVENT on "/" without an id,
            # with the server's own json module, minus its walk looking for bytes.
            encoded = EVENT_PREFIX + self.sio.packet_class.json.dumps([event, data], separators=(",", ":"))
        except TypeError:  # bytes (binary attachments) or other non-JSON data: the library's way
            return await self._library_emit(event, data, room, skip_sid)
        eio_pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        frame = ws_frame(MESSAGE_PREFIX + encoded.encode())
        skip = set(skip_sid) if skip_sid else ()
        queue = []
        count = 0
        for sid, eio_sid in self.sio.manager.get_participants(NAMESPACE, room):
            if sid in skip:
                continue
            transport = self._writable(eio_sid)
            if transport is not None:
                transport.write(frame)
            elif self.slow is None or not self.slow.over(sid, eio_sid, self._in_transport(eio_sid, len(frame))):
                queue.append(eio_sid)
            else:
                continue  # too far behind: being disconnected
            count += 1
        self.direct += count - len(queue)
        self.queued += len(queue)
        for eio_sid in queue:
            await self.sio.eio.send_packet(eio_sid, eio_pkt)
        return count

    def _in_transport(self, eio_sid: str, frame_size: int) -> int:
        """About how many packets of this size still wait in the socket's
        transport buffer (written directly, or by the writer), for the bound."""
        entry = self.sockets.get(eio_sid)
        try:
            return entry[2].get_write_buffer_size() // frame_size if entry is not None else 0
        except AttributeError:
            return 0
