"""A local Redis Cluster on loopback ports: 3 masters with a replica each.

Used by the cluster tests' fixture (tests/gateway/test_cluster_bus.py) and by
the bench (`python -m bench.sharded_bus`), so both start it the same way.
Each node is a redis-server process of its own, stopped by its PID; a small
`cluster-node-timeout` makes a replica take over a killed master in a few
seconds.

    cluster = LocalCluster(tmpdir).start()
    cluster.nodes_setting        # "127.0.0.1:p1,127.0.0.1:p2,..." for REDIS_CLUSTER_NODES
    cluster.kill(cluster.masters()[0]); cluster.wait_ok()
    cluster.stop()
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import redis


class ClusterError(RuntimeError):
    """The cluster could not be started or did not become healthy."""


def _free_pair() -> int:
    """A free port whose cluster bus port (+10000) is free too."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 >= 65536:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise ClusterError("no free port pair for a cluster node")


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        # Never a skip: CI must run these tests (scripts/services installs Redis).
        raise ClusterError(f"{name} is not installed (scripts/services installs redis-server and redis-cli)")
    return path


class LocalCluster:
    def __init__(self, directory: str, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 1500):
        self.directory, self.masters_wanted, self.replicas = directory, masters, replicas
        self.node_timeout_ms = node_timeout_ms
        self.ports: list[int] = []
        self.procs: dict[int, subprocess.Popen] = {}

    @property
    def nodes_setting(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def start(self, timeout: float = 30) -> "LocalCluster":
        server, cli = _binary("redis-server"), _binary("redis-cli")
        self.ports = [_free_pair() for _ in range(self.masters_wanted * (1 + self.replicas))]
        for port in self.ports:
            self._spawn(server, port)
        for port in self.ports:
            self._wait_ping(port, time.monotonic() + 10)
        create = [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
                  "--cluster-replicas", str(self.replicas), "--cluster-yes"]
        result = subprocess.run(create, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            self.stop()
            raise ClusterError(f"redis-cli --cluster create failed:\n{result.stdout}\n{result.stderr}")
        try:
            self.wait_ok(timeout)
        except ClusterError:
            self.stop()
            raise
        return self

    def _spawn(self, server: str, port: int) -> None:
        args = [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                "--cluster-config-file", os.path.join(self.directory, f"nodes-{port}.conf"),
                "--cluster-node-timeout", str(self.node_timeout_ms), "--save", "", "--appendonly", "no",
                # A replica in sync at once, and always willing to take over: a
                # killed master is replaced within a few node timeouts.
                "--repl-diskless-sync-delay", "0", "--cluster-replica-validity-factor", "0",
                "--dir", self.directory]
        log = open(os.path.join(self.directory, f"redis-{port}.log"), "ab")
        self.procs[port] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    @staticmethod
    def client(port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1)

    def _wait_ping(self, port: int, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                if self.client(port).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise ClusterError(f"redis-server on {port} did not answer")

    def alive(self) -> list[int]:
        return [port for port, proc in self.procs.items() if proc.poll() is None]

    def masters(self) -> list[int]:
        """Ports of the live masters, as the live nodes see them now."""
        found = set()
        for port in self.alive():
            try:
                role = self.client(port).execute_command("ROLE")
            except redis.RedisError:
                continue
            if role[0] in (b"master", "master"):
                found.add(port)
        return sorted(found)

    def wait_ok(self, timeout: float = 30) -> None:
        """Until every live node says cluster_state:ok with all slots served by live masters."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                infos = [self.client(port).execute_command("CLUSTER", "INFO") for port in self.alive()]
                texts = [i.decode() if isinstance(i, bytes) else str(i) for i in infos]
                if all("cluster_state:ok" in t and "cluster_slots_ok:16384" in t for t in texts):
                    if len(self.masters()) >= self.masters_wanted and self._replicas_synced():
                        return
                last = texts[0] if texts else "no live node"
            except redis.RedisError as exc:
                last = str(exc)
            time.sleep(0.1)
        raise ClusterError(f"the cluster was not ok within {timeout}s: {last}")

    def _replicas_synced(self) -> bool:
        for port in self.alive():
            info = self.client(port).info("replication")
            if info.get("role") == "slave" and info.get("master_link_status") != "up":
                return False
        return True

    def kill(self, port: int) -> None:
        proc = self.procs.get(port)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)

    def restart(self, port: int) -> None:
        """Start a killed node again (it rejoins from its nodes file, as a replica)."""
        self._spawn(_binary("redis-server"), port)
        self._wait_ping(port, time.monotonic() + 10)

    def stop(self) -> None:
        for port in list(self.procs):
            self.kill(port)
