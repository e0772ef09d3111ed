"""A gunicorn worker whose own answers (request line or headers too long, a
malformed request) come in the API's JSON error shape, not gunicorn's HTML.

gunicorn writes those answers itself, before any application code runs, in
`Worker.handle_error`. This worker relies on that one internal: it lets
gunicorn's handler write into a buffer, reads back the status line it chose,
and sends the error shape with that status. When the buffer holds no status
line (a gunicorn that works differently), the captured bytes go out as they
are: gunicorn's own answer. `API_JSON_SERVER_ERRORS=0` (api/gunicorn_conf.py)
runs plain `gthread` instead.
"""
from __future__ import annotations

import json
import re

from gunicorn.workers.gthread import ThreadWorker

from api.errors import HTTP_CODES

STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-5][0-9]{2}) ([^\r\n]*)\r\n")


class _Capture:
    """Stands in for the client socket while gunicorn writes its error page."""

    def __init__(self) -> None:
        self.data = bytearray()

    def sendall(self, data: bytes) -> None:
        self.data += data

    def send(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def gettimeout(self) -> float:
        return 0.0

    def setblocking(self, flag: bool) -> None:
        return None


def json_error(written: bytes) -> bytes:
    """The answer gunicorn wrote, as the error shape; unchanged when it is not a status line."""
    match = STATUS_LINE.match(written)
    if not match:
        return written
    status, reason = int(match.group(1)), match.group(2).decode("latin-1")
    code = HTTP_CODES.get(status) or re.sub(r"[^a-z0-9]+", "_", reason.lower()).strip("_") or "error"
    # gunicorn's message quotes the offending request line or header: not echoed back.
    body = json.dumps({"error": {"code": code, "message": reason, "details": {}}}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


class JsonErrorWorker(ThreadWorker):
    def handle_error(self, req, client, addr, exc):
        capture = _Capture()
        super().handle_error(req, capture, addr, exc)
        try:
            client.sendall(json_error(bytes(capture.data)))
        except OSError:
            self.log.debug("Failed to send error message.")
