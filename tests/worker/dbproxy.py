"""A TCP proxy on loopback between one process and MariaDB, that a test can
cut and restore: the shared MariaDB stays up for everyone else, while the
process behind the proxy sees a real outage (its connections closed, new
ones refused) and a real recovery."""
from __future__ import annotations

import asyncio
import socket
import threading


class DatabaseProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.AbstractServer | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        with socket.socket() as probe:  # a port of our own, kept across cut and restore
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def _call(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> "DatabaseProxy":
        self.thread.start()
        self.restore()
        return self

    def restore(self) -> None:
        """Listen again: new connections reach MariaDB."""
        self._call(self._listen())

    def cut(self) -> None:
        """Stop listening (connects are refused) and close every connection, both ways."""
        self._call(self._cut())

    def stop(self) -> None:
        self._call(self._cut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()
        if server is not None:
            await server.wait_closed()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.transport.abort()
            return
        self.writers |= {client_writer, upstream_writer}
        await asyncio.gather(self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer))
        self.writers -= {client_writer, upstream_writer}

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()
