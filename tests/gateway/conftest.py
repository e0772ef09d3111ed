"""Gateway fixtures: real gateway processes on free ports, real Redis, real clients.

Each test gets its own Redis channel, so parallel runs on the shared Redis
never see each other's events. The in-process API (`live_server`) publishes
on the same channel and Redis as the gateway processes it talks to. Fault
tests start a throwaway `redis-server` of their own and kill only that one.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid

import pytest
import requests

from tests.conftest import EVENTS_SECRET, TEST_SECRET
from tests.gateway.helpers import Api
from tests.redis_cluster import LocalCluster

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GatewayProcess:
    """`python -m gateway` as a subprocess; `url` once it answers /healthz."""

    def __init__(self, env: dict, log_path: str):
        self.port = int(env["GATEWAY_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.env, self.log_path = env, log_path
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20) -> "GatewayProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway"], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError(f"gateway did not answer /healthz in {timeout}s:\n{self.log()}")

    def stop(self, timeout: float = 8) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=5)

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()[-4000:]

    def metrics(self) -> dict[str, float]:
        text = requests.get(self.url + "/metrics", timeout=5).text
        pairs = (line.split() for line in text.splitlines() if line and not line.startswith("#"))
        return {name: float(value) for name, value in pairs}


class RedisProcess:
    """A throwaway redis-server on its own port: the one fault tests kill."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RedisProcess":
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (scripts/services installs it)")
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("throwaway redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture
def channel() -> str:
    return f"rt:test:{uuid.uuid4().hex[:10]}"


@pytest.fixture
def redis_url() -> str | None:
    """The Redis both the API and the gateways use; modules override it."""
    return SHARED_REDIS


@pytest.fixture
def config(base_config, redis_url, channel):
    """The in-process API publishes where the gateway processes listen."""
    return base_config.replace(redis_url=redis_url, events_channel=channel)


def _inherited(key: str) -> bool:
    """The run's environment minus the gateway's and Redis's settings, except
    GATEWAY_FAST_*: a run with the fast paths off runs every gateway that way."""
    return key.startswith("GATEWAY_FAST_") or not key.startswith(("GATEWAY_", "REDIS_"))


def start_gateway(database_url: str, channel: str, redis_url: str | None, log_path: str, **overrides):
    env = {key: value for key, value in os.environ.items() if _inherited(key)}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url or "",
        JWT_SECRET=TEST_SECRET,
        EVENTS_SIGNING_SECRET=EVENTS_SECRET,
        EVENTS_CHANNEL=channel,
        GATEWAY_PORT=str(free_port()),
        GATEWAY_PRESENCE_GRACE="0.5",
        GATEWAY_TYPING_EXPIRY="1",
        GATEWAY_SAFETY_INTERVAL="0.5",
        CORS_ORIGINS="*",
        PYTHONUNBUFFERED="1",
    )
    env.update({key: str(value) for key, value in overrides.items()})
    return GatewayProcess(env, log_path)


@pytest.fixture
def gateways(database_url, channel, redis_url, tmp_path):
    """start(**env) -> a running GatewayProcess; all stopped at the end."""
    started: list[GatewayProcess] = []

    def start(**overrides) -> GatewayProcess:
        log_path = str(tmp_path / f"gateway-{len(started)}.log")
        gateway = start_gateway(database_url, channel, redis_url, log_path, **overrides)
        started.append(gateway)
        return gateway.start()

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture(scope="module")
def module_gateway(database_url, tmp_path_factory):
    """One gateway for a module of tests that publish nothing (e.g. refusals)."""
    log_path = str(tmp_path_factory.mktemp("gateway") / "gateway.log")
    gateway = start_gateway(database_url, f"rt:test:{uuid.uuid4().hex[:10]}", SHARED_REDIS, log_path).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def throwaway_redis():
    server = RedisProcess(free_port()).start()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory):
    """A local Redis Cluster (3 masters, 3 replicas), one for the session: it takes seconds to start."""
    cluster = LocalCluster(str(tmp_path_factory.mktemp("redis-cluster"))).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def api(live_server, token):
    return Api(live_server, token)
