"""The delivery worker's lag behind the event log under load (issue 15):
`python -m bench.worker_lag [--rate 200] [--secs 20] [--users 1000]`.

The API (gunicorn, as the Procfile runs it) takes `rate` messages/s from
mentor i to student i over `users` direct conversations; every student has a
Web Push subscription on a loopback push service that answers 201, and half
of them have a live socket by presence (their keys in Redis, as a gateway
writes them), so the worker pushes to the other half. The worker's own
`worker_lag_seconds` and `worker_lag_events` are sampled every 0.25 s, and
how long after the last send it has caught up is measured.

Needs MariaDB (TEST_MYSQL_URL or root@127.0.0.1) and Redis on 127.0.0.1:6379;
makes and drops its own database.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.api_load import Api, paced_sends, seed
from bench.harness import PY, Env, free_port, start, stop, wait_http
from shared import vapid
from shared.config import Config
from shared.db import make_engine
from shared.migrate import migrate
from shared.models import PushSubscription
from shared.timeutil import utcnow


class PushService(ThreadingHTTPServer):
    """Answers every push 201 and counts them (the crypto is tested in tests/away)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.received = 0
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with service.lock:
                    service.received += 1
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def browser_key() -> str:
    """One P-256 public key in the form a browser's subscription gives (URL-safe base64)."""
    import base64

    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


def subscribe_all(database_url: str, users: int, endpoint: str) -> None:
    key, auth = browser_key(), "c2VjcmV0LWF1dGgtMTYtYg"
    with Session(make_engine(database_url)) as session:
        session.add_all(PushSubscription(principal_role="student", principal_id=i, endpoint=f"{endpoint}/{i}",
                                         endpoint_hash=uuid.uuid4().hex + uuid.uuid4().hex, p256dh=key, auth=auth,
                                         previews=True, created_at=utcnow()) for i in range(1, users + 1))
        session.commit()


def metric(text_: str, name: str) -> float:
    for line in text_.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


async def run(args) -> None:
    server_url = os.environ.get("TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/")
    name = f"bench_worker_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    database_url = server_url.rstrip("/") + f"/{name}?charset=utf8mb4"
    logdir = tempfile.mkdtemp(prefix="bench-worker-")
    channel = f"rt:bench:{uuid.uuid4().hex[:8]}"
    push_service = PushService()
    threading.Thread(target=push_service.serve_forever, daemon=True).start()
    red = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        migrate(make_engine(database_url), log=lambda *_: None)
        seed(database_url, args.users)
        subscribe_all(database_url, args.users, f"http://127.0.0.1:{push_service.server_port}/push")
        for i in range(1, args.users + 1, 2):  # every other student has a live socket somewhere
            red.zadd(f"{channel}:presence:student:{i}", {"bench-gateway": time.time() + 3600})
        key_file = os.path.join(logdir, "vapid.pem")
        vapid.write_new(key_file)
        secret, signing = "bench-" + uuid.uuid4().hex * 2, "bench-" + uuid.uuid4().hex * 2
        base = dict(os.environ, DATABASE_URL=database_url, REDIS_URL="redis://127.0.0.1:6379/0",
                    JWT_SECRET=secret, EVENTS_SIGNING_SECRET=signing, EVENTS_CHANNEL=channel, PERIODIC_INTERVAL="0",
                    PROMETHEUS_MULTIPROC_DIR=os.path.join(logdir, "metrics"))
        env = Env(base=base, redis_url="redis://127.0.0.1:6379/0", secret=secret, signing=signing,
                  stock_channel=channel, events_channel=channel, logdir=logdir)
        worker_port = free_port()
        worker = await start([PY, "-m", "worker"], dict(base, WORKER_PORT=str(worker_port), OUTBOUND_ALLOW_PRIVATE="1",
                                                        VAPID_PRIVATE_KEY_FILE=key_file,
                                                        VAPID_SUBJECT="mailto:bench@example.org"),
                             os.path.join(logdir, "worker.log"))
        await wait_http(worker_port, timeout=60)
        config = Config(database_url=database_url, jwt_secret=secret, events_signing_secret=signing)
        samples: list[tuple[float, float]] = []
        stop_sampling = asyncio.Event()

        async def sample() -> None:
            import aiohttp

            async with aiohttp.ClientSession() as http:
                while not stop_sampling.is_set():
                    async with http.get(f"http://127.0.0.1:{worker_port}/metrics") as resp:
                        body = await resp.text()
                    samples.append((metric(body, "worker_lag_seconds"), metric(body, "worker_lag_events")))
                    await asyncio.sleep(0.25)

        async with Api(env, config) as api:
            sampler = asyncio.ensure_future(sample())
            ok, failed, rate, _ = await paced_sends(api, args.users, args.rate, args.secs, 0)
            sent_at = time.monotonic()
            caught_up = None
            async with __import__("aiohttp").ClientSession() as http:
                while time.monotonic() - sent_at < 120:
                    async with http.get(f"http://127.0.0.1:{worker_port}/metrics") as resp:
                        body = await resp.text()
                    if metric(body, "worker_lag_events") == 0:
                        caught_up = time.monotonic() - sent_at
                        break
                    await asyncio.sleep(0.1)
            stop_sampling.set()
            await sampler
        await stop(worker)
        lags = [s for s, _ in samples]
        events = [e for _, e in samples]
        print(f"sends: {ok} ok, {failed} failed, {rate:.0f}/s offered over {args.secs:.0f} s; "
              f"{args.users} subscribed students, half with a live socket")
        print(f"worker lag seconds: median {statistics.median(lags):.2f}, p90 "
              f"{sorted(lags)[int(0.9 * len(lags))]:.2f}, max {max(lags):.2f} ({len(lags)} samples)")
        print(f"worker lag events: median {statistics.median(events):.0f}, max {max(events):.0f}")
        print(f"caught up {caught_up:.2f} s after the last send" if caught_up is not None else "not caught up in 120 s")
        print(f"pushes received by the push service: {push_service.received}")
    finally:
        push_service.shutdown()
        red.close()
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_lag", description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--secs", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=1000)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
