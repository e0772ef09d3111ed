"""Sending one webhook request, signed per the Standard Webhooks specification.

Headers `webhook-id` (the event id: receivers dedupe by it), `webhook-timestamp`
and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`,
by the `standardwebhooks` library); the body is the event envelope. The
request goes to the address `shared.outbound.resolve` checked (against DNS
rebinding), with the URL's host in `Host` and in TLS SNI and certificate
checks. Redirects are not followed: a 3xx is a failed attempt, so a receiver
cannot bounce us to an internal address.
"""
from __future__ import annotations

import datetime as dt
import http.client
import socket
import ssl
from dataclasses import dataclass

from standardwebhooks.webhooks import Webhook

from shared.outbound import OutboundRefused, check_url, resolve

ERROR_CHARS = 500  # deliveries.last_error
USER_AGENT = "mentorship-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None


def signed_headers(secret: str, message_id: str, body: str, now: dt.datetime) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address, with the certificate verified for `server_name`."""

    def __init__(self, address: str, port: int, server_name: str, timeout: float):
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self.server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.server_name)  # type: ignore[attr-defined]


def _connection(scheme: str, address: str, port: int, host: str, timeout: float) -> http.client.HTTPConnection:
    if scheme == "https":
        return _PinnedHTTPSConnection(address, port, host, timeout)
    return http.client.HTTPConnection(address, port, timeout=timeout)


def _bounded(text: str) -> str:
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 3] + "..."


def send(url: str, secret: str, message_id: str, body: str, timeout: float, allow_private: bool) -> Outcome:
    """POST `body` to `url`; a 2xx within `timeout` is a delivery, anything else a failed attempt."""
    try:
        parts = check_url(url, allow_private)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname or ""
        address = resolve(host, port, allow_private)
    except OutboundRefused as exc:
        return Outcome(False, error=_bounded(f"refused: {exc}"))
    headers = signed_headers(secret, message_id, body, dt.datetime.now(dt.timezone.utc))
    headers["host"] = parts.netloc.rsplit("@", 1)[-1]
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = _connection(parts.scheme, address, port, host, timeout)
    try:
        connection.request("POST", path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        response.read(65536)  # a little of the answer, so the connection closes cleanly
        if 200 <= response.status < 300:
            return Outcome(True, response.status)
        return Outcome(False, response.status, _bounded(f"HTTP {response.status} {response.reason}"))
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(False, error=_bounded(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__))
    finally:
        connection.close()
