"""Bus messages each gateway receives, one Redis channel vs Redis Cluster's sharded channels:
`python -m bench.sharded_bus [--users 1000] [--gateways 4] [--rate 400] [--secs 10]`.

Self-contained: a throwaway redis-server and a local 3-master Redis Cluster
(tests/redis_cluster.py, the cluster tests' own), an SQLite database, and
`gateways` gateway processes. The bench's load client connects `users`
students, user i to gateway i mod `gateways`, so each holds a quarter of them
(each user in their personal room). Then `rate` events/s for `secs` seconds
go to the users' personal rooms in turn, published as the API does
(`shared.events.RedisPublisher` or `ShardedPublisher`). Reported per gateway:
bus messages received per second (`gateway_bus_messages_total`) and events
delivered. With one channel every gateway receives every message; sharded,
each receives its own users' messages only (about 1/`gateways`).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

import requests

from bench.harness import free_port
from shared.events import RedisPublisher, ShardedPublisher
from tests.redis_cluster import LocalCluster

PY = sys.executable
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gateway_metrics(port: int) -> dict[str, float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    pairs = (line.split() for line in text.splitlines() if line and not line.startswith("#"))
    return {name: float(value) for name, value in pairs}


def start_gateways(count: int, env: dict, logdir: str) -> list[tuple[int, subprocess.Popen]]:
    started = []
    for n in range(count):
        port = free_port()
        log = open(os.path.join(logdir, f"gateway-{n}.log"), "ab")
        proc = subprocess.Popen([PY, "-m", "gateway"], cwd=ROOT, env={**env, "GATEWAY_PORT": str(port)},
                                stdout=log, stderr=subprocess.STDOUT)
        log.close()
        started.append((port, proc))
    for port, proc in started:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gateway on {port} did not start; see {logdir}")
            time.sleep(0.1)
    return started


async def connect_users(ports: list[int], users: int, secret: str, env: dict) -> asyncio.subprocess.Process:
    client = await asyncio.create_subprocess_exec(
        PY, "-m", "bench.loadclient", "--ports", ",".join(map(str, ports)), "--secret", secret,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT, limit=2**20)
    client.stdin.write(b'{"cmd": "connect", "first": 1, "count": %d}\n' % users)
    await client.stdin.drain()
    line = await asyncio.wait_for(client.stdout.readline(), 120)
    reply = json.loads(line or b"{}")
    if reply.get("connected") != users:
        raise RuntimeError(f"load client: {reply}")
    return client


def publish(publisher, users: int, rate: float, secs: float) -> int:
    """`rate` envelopes/s to the users' personal rooms in turn, one publish each (as one commit each)."""
    total, start = int(rate * secs), time.monotonic()
    for n in range(total):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        user = n % users + 1
        publisher.publish([{"id": None, "type": "note:created", "room": f"student:{user}", "seq": None,
                            "data": {"n": n}}])
    return total


async def run_mode(mode: str, args, base_env: dict, bus_env: dict, publisher, logdir: str) -> list[dict]:
    env = {**base_env, **bus_env}
    gateways = start_gateways(args.gateways, env, logdir)
    client = None
    try:
        ports = [port for port, _ in gateways]
        client = await connect_users(ports, args.users, base_env["JWT_SECRET"], env)
        await asyncio.sleep(2)  # subscriptions settle
        before = [gateway_metrics(port) for port in ports]
        began = time.monotonic()
        sent = await asyncio.to_thread(publish, publisher, args.users, args.rate, args.secs)
        await asyncio.sleep(1)
        elapsed = time.monotonic() - began
        after = [gateway_metrics(port) for port in ports]
        rows = []
        for port, b, a in zip(ports, before, after, strict=True):
            rows.append({"mode": mode, "port": port, "sent": sent,
                         "bus_per_s": (a["gateway_bus_messages_total"] - b["gateway_bus_messages_total"]) / elapsed,
                         "relayed": a["gateway_events_relayed_total"] - b["gateway_events_relayed_total"],
                         "rooms": a.get("gateway_bus_rooms_subscribed")})
        return rows
    finally:
        if client is not None:
            client.stdin.write(b'{"cmd": "quit"}\n')
            await client.stdin.drain()
            await asyncio.wait_for(client.wait(), 10)
        stop_gateways(mode, gateways)


def stop_gateways(mode: str, gateways: list[tuple[int, subprocess.Popen]]) -> None:
    """SIGTERM each gateway and say how long it took to exit; one that is not gone in 10 s is a bug, reported."""
    began = time.monotonic()
    for _, proc in gateways:
        proc.terminate()
    slowest = 0.0
    for port, proc in gateways:
        try:
            code = proc.wait(timeout=max(0.0, began + 10 - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{mode}: gateway {port} did not exit within 10 s of SIGTERM; killed", file=sys.stderr)
            proc.kill()
            proc.wait(timeout=5)
            continue
        slowest = max(slowest, time.monotonic() - began)
        if code != 0:
            print(f"{mode}: gateway {port} exited with {code}", file=sys.stderr)
    print(f"{mode}: gateways exited {slowest:.2f} s after SIGTERM", file=sys.stderr)


async def main_async(args) -> None:
    workdir = tempfile.mkdtemp(prefix="bench-sharded-")
    secret, signing = secrets.token_hex(32), secrets.token_hex(32)
    db = os.path.join(workdir, "bench.db")
    base_env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "JWT_SECRET": secret,
                "EVENTS_SIGNING_SECRET": signing, "EVENTS_CHANNEL": "rt:bench", "GATEWAY_DEMO": "0",
                "PYTHONPATH": ROOT}
    for key in ("REDIS_URL", "REDIS_CLUSTER_NODES"):
        base_env.pop(key, None)
    subprocess.run([PY, "-m", "shared.migrate"], cwd=ROOT, env=base_env, check=True, capture_output=True)
    redis_port = free_port()
    single = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(redis_port), "--bind",
                               "127.0.0.1", "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    cluster = LocalCluster(workdir).start()
    try:
        url = f"redis://127.0.0.1:{redis_port}/0"
        rows = await run_mode("single channel", args, base_env, {"REDIS_URL": url},
                              RedisPublisher(url, "rt:bench", signing), workdir)
        nodes = [("127.0.0.1", port) for port in cluster.ports]
        rows += await run_mode("sharded", args, base_env, {"REDIS_CLUSTER_NODES": cluster.nodes_setting},
                               ShardedPublisher(nodes, "rt:bench", signing), workdir)
    finally:
        cluster.stop()
        single.kill()
        single.wait(timeout=5)
    print(f"{args.users} users over {args.gateways} gateways, {args.rate:g} events/s for {args.secs:g} s")
    print(f"{'mode':<16}{'gateway':>8}{'bus msgs/s':>12}{'delivered':>11}{'rooms':>7}")
    for row in rows:
        rooms = "-" if row["rooms"] is None else f"{row['rooms']:.0f}"
        print(f"{row['mode']:<16}{row['port']:>8}{row['bus_per_s']:>12.1f}{row['relayed']:>11.0f}{rooms:>7}")
    for mode in ("single channel", "sharded"):
        mean = sum(r["bus_per_s"] for r in rows if r["mode"] == mode) / args.gateways
        print(f"mean bus messages/s per gateway, {mode}: {mean:.1f}")
    shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sharded_bus")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--gateways", type=int, default=4)
    parser.add_argument("--rate", type=float, default=400.0)
    parser.add_argument("--secs", type=float, default=10.0)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
