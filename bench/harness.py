"""Processes the benchmark starts: servers under test, the load client, the publisher.

Every process is started here and stopped here (by its own pid), with a
deadline on each wait. With `Env.pin` (the default on 2+ cores) each server
process gets a core of its own (`sched_setaffinity`), and the load client and
publisher share the remaining core(s): the figures are per server process,
and a server does not compete with its own load generators for a core. Servers are measured from /proc: CPU seconds from
`/proc/<pid>/stat` (utime + stime, every thread of the process) and memory
from `VmRSS` in `/proc/<pid>/status`. Node starts its V8 and libuv threads
before the harness can pin it, so a node server has every thread pinned
(`pin_threads`), at start and again once it is healthy.
"""
from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from dataclasses import dataclass, field

PY = sys.executable
NODE_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node", "server.js")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def pin_load(env: "Env", pid: int) -> None:
    """Keep a load generator off the cores the servers under test run on."""
    if env.load_cpus:
        try:
            os.sched_setaffinity(pid, env.load_cpus)
        except ProcessLookupError:  # it already finished
            pass


def pin_threads(pid: int, cpus: set[int]) -> None:
    """`sched_setaffinity` moves one thread: move each thread the process has."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except ProcessLookupError:  # the thread ended meanwhile
            pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_http(port: int, path: str = "/healthz", timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            status = await asyncio.wait_for(reader.readline(), 2)
            writer.close()
            if b" 200 " in status:
                return
        except (OSError, asyncio.TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing healthy on port {port} after {timeout}s")
        await asyncio.sleep(0.1)


async def start(args: list[str], env: dict, log_path: str) -> asyncio.subprocess.Process:
    log = open(log_path, "ab")
    try:
        return await asyncio.create_subprocess_exec(*args, env=env, stdout=log, stderr=log,
                                                    stdin=asyncio.subprocess.DEVNULL)
    finally:
        log.close()


async def stop(proc: asyncio.subprocess.Process, timeout: float = 10.0) -> None:
    if proc.returncode is not None:
        return
    proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()


@dataclass
class Env:
    """What every process of one benchmark run shares."""
    base: dict
    redis_url: str
    secret: str
    signing: str
    stock_channel: str
    events_channel: str
    logdir: str
    node_key: str = "socket.io"  # the redis-adapter's key: channels `<key>#/#<room>#`
    pin: bool = False
    next_id: list[int] = field(default_factory=lambda: [0])
    # Cores the load client and publisher run on, set by the Target that pins servers.
    load_cpus: set[int] | None = None

    def id_offset(self, count: int) -> int:
        offset = self.next_id[0]
        self.next_id[0] += count + 1
        return offset


class Target:
    """One or more server processes of one kind, started fresh for a scenario."""

    def __init__(self, env: Env, kind: str, procs: int = 1):
        self.env, self.kind, self.nprocs = env, kind, procs
        self.ports = [free_port() for _ in range(procs)]
        self.procs: list[asyncio.subprocess.Process] = []

    @property
    def label(self) -> str:
        return self.kind if self.nprocs == 1 else f"{self.kind} x{self.nprocs}"

    @property
    def channel(self) -> str:
        return {"stock": self.env.stock_channel, "node": self.env.node_key}.get(self.kind, self.env.events_channel)

    async def __aenter__(self) -> "Target":
        for port in self.ports:
            if self.kind == "stock":
                args = [PY, "-m", "bench.stock_server", "--port", str(port), "--redis", self.env.redis_url,
                        "--channel", self.env.stock_channel, "--secret", self.env.secret]
                env = self.env.base
            elif self.kind == "node":
                args = ["node", NODE_SERVER, "--port", str(port), "--redis", self.env.redis_url,
                        "--key", self.env.node_key, "--secret", self.env.secret]
                env = self.env.base
            else:
                args = [PY, "-m", "gateway"]
                env = dict(self.env.base, GATEWAY_PORT=str(port))
            self.procs.append(await start(args, env, f"{self.env.logdir}/{self.kind}-{port}.log"))
        self._pin()
        try:
            await asyncio.gather(*(wait_http(port) for port in self.ports))
        except BaseException:
            await self.__aexit__()
            raise
        self._pin_node_threads()  # the threads node started while it was coming up
        await asyncio.sleep(0.5)  # let the Redis subscription settle
        return self

    def _pin(self) -> None:
        """Server i on core i; the load generators on the cores left (or all of
        them when the servers take every core, as in the scale-out run)."""
        cpus = sorted(os.sched_getaffinity(0))
        if not self.env.pin or len(cpus) < 2:
            self.env.load_cpus = None
            return
        for i, proc in enumerate(self.procs):
            os.sched_setaffinity(proc.pid, {cpus[i % len(cpus)]})
        self._pin_node_threads()
        rest = set(cpus[len(self.procs):])
        self.env.load_cpus = rest or None

    def _pin_node_threads(self) -> None:
        if self.kind == "node" and self.env.pin:
            for proc in self.procs:
                pin_threads(proc.pid, os.sched_getaffinity(proc.pid))

    async def __aexit__(self, *exc) -> None:
        self.env.load_cpus = None
        await asyncio.gather(*(stop(p) for p in self.procs))

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def rss(self) -> int:
        return sum(rss_kb(p.pid) for p in self.procs)


class LoadClient:
    """`bench.loadclient` in its own process, driven one JSON line at a time."""

    def __init__(self, env: Env, ports: list[int]):
        self.env, self.ports = env, ports
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> "LoadClient":
        log = open(f"{self.env.logdir}/loadclient.log", "ab")
        self.proc = await asyncio.create_subprocess_exec(
            PY, "-m", "bench.loadclient", "--ports", ",".join(map(str, self.ports)), "--secret", self.env.secret,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log, env=self.env.base,
            limit=2**20,
        )
        log.close()
        pin_load(self.env, self.proc.pid)
        return self

    async def call(self, timeout: float = 120.0, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd).encode() + b"\n")
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise RuntimeError("load client died; see loadclient.log")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"load client: {reply['error']}")
        return reply

    async def __aexit__(self, *exc) -> None:
        try:
            self.proc.stdin.write(b'{"cmd": "quit"}\n')
            await asyncio.wait_for(self.proc.wait(), 10)
        except (OSError, asyncio.TimeoutError):
            await stop(self.proc)


async def publish(env: Env, target: Target, mode: str, rate: float, count: int, users: int = 1) -> dict:
    """Run `bench.publisher` to completion and return its report."""
    args = [PY, "-m", "bench.publisher", "--kind", target.kind,
            "--mode", mode, "--redis", env.redis_url, "--channel", target.channel, "--secret", env.signing,
            "--rate", str(rate), "--count", str(count), "--users", str(users),
            "--id-offset", str(env.id_offset(count))]
    log = open(f"{env.logdir}/publisher.log", "ab")
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE, stderr=log, env=env.base)
    log.close()
    pin_load(env, proc.pid)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), count / rate + 60)
    except asyncio.TimeoutError:
        await stop(proc)
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"publisher failed ({proc.returncode}); see publisher.log")
    return json.loads(out.decode().strip().splitlines()[-1])
