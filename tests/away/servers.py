"""Real outside parties on loopback: a Web Push service and SMTP servers.

`PushService` is what a browser vendor runs, reduced to what we must get
right: it checks the VAPID JWT (`Authorization: vapid t=<jwt>,k=<key>`,
ES256 over the key in `k`, `aud` = its own origin, `exp` within 24 hours)
and decrypts the body (aes128gcm, http_ece) with the private key and auth
secret of the subscription - which the test made like a browser does.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field

import http_ece
import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from multidict import CIMultiDict


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class BrowserKeys:
    """What `pushManager.subscribe` makes on the device: a P-256 key pair and a 16-byte auth secret."""

    private: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(self.private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))

    def subscription(self, endpoint: str) -> dict:
        keys = {"p256dh": self.p256dh, "auth": b64url(self.auth)}
        return {"endpoint": endpoint, "expirationTime": None, "keys": keys}


@dataclass
class Received:
    device: str
    status: int
    payload: dict | None
    claims: dict | None
    vapid_key: str | None
    headers: dict
    problem: str | None = None


class PushService:
    """`endpoint(name, keys)` -> a URL on this service; `answer[name]` = the
    statuses to answer in turn (default 201); `received` = every request."""

    def __init__(self):
        self.devices: dict[str, BrowserKeys] = {}
        self.answer: dict[str, list[int]] = {}
        self.received: list[Received] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "PushService":
        self.thread.start()
        assert self.ready.wait(10), "push service did not start"
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application(client_max_size=8192)
        app.router.add_post("/push/{device}", self._push)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def endpoint(self, name: str, keys: BrowserKeys) -> str:
        self.devices[name] = keys
        return f"{self.origin}/push/{name}"

    def of(self, device: str) -> list[Received]:
        return [r for r in self.received if r.device == device]

    def _check_vapid(self, header: str) -> tuple[dict, str]:
        scheme, _, params = header.partition(" ")
        assert scheme == "vapid", f"not a VAPID Authorization header: {header[:40]}"
        fields = dict(part.strip().split("=", 1) for part in params.split(","))
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(fields["k"]))
        claims = jwt.decode(fields["t"], key, algorithms=["ES256"], audience=self.origin)
        assert claims["exp"] <= time.time() + 24 * 3600, "VAPID exp more than 24 hours ahead (RFC 8292)"
        assert claims.get("sub", "").startswith(("mailto:", "https:")), "VAPID sub is not a contact"
        return claims, fields["k"]

    async def _push(self, request: web.Request) -> web.Response:
        device = request.match_info["device"]
        body = await request.read()
        statuses = self.answer.get(device) or [201]
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        record = Received(device, status, None, None, None, CIMultiDict(request.headers))
        try:
            record.claims, record.vapid_key = self._check_vapid(request.headers.get("Authorization", ""))
            assert request.headers.get("Content-Encoding") == "aes128gcm"
            keys = self.devices[device]
            plain = http_ece.decrypt(body, private_key=keys.private, auth_secret=keys.auth, version="aes128gcm")
            record.payload = json.loads(plain)
        except Exception as exc:  # noqa: BLE001 - what the test asserts on
            record.problem, status = f"{exc.__class__.__name__}: {exc}", 400
            record.status = status
        self.received.append(record)
        headers = {"Retry-After": "7"} if status == 429 else {}
        return web.Response(status=status, headers=headers)


class Inbox:
    """An aiosmtpd handler: keeps what it accepts; `refuse_rcpt` answers RCPT with that line instead."""

    def __init__(self, refuse_rcpt: str | None = None):
        self.refuse_rcpt = refuse_rcpt
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


class HangUpMidData:
    """An SMTP server that takes the envelope, says 354 to DATA, reads a little of the message and hangs up."""

    def __init__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.got_data = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            reader = conn.makefile("rb")
            conn.sendall(b"220 hangup.test ESMTP\r\n")
            while line := reader.readline():
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250 hangup.test\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    reader.readline()
                    self.got_data.set()
                    return  # the connection closes mid-message
                else:
                    conn.sendall(b"250 OK\r\n")

    def close(self) -> None:
        self.sock.close()
