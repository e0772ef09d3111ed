"""SIGTERM: a gateway holding hundreds of sockets exits at once, on either bus.

The sockets are bench.loadclient's light ones (raw Engine.IO v4 over a
websocket, one asyncio protocol each): a few hundred python-socketio clients
would cost more than the gateway under test. Each student is alone in their
personal room, so on the sharded bus the gateway holds a few hundred rooms,
each subscribed on its own sharded channel.
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from contextlib import suppress

import pytest

from bench.loadclient import Client
from gateway.tasks import stop
from tests.conftest import TEST_SECRET
from tests.gateway.helpers import eventually, run

SOCKETS = 300
ROOMS = SOCKETS + 2  # each student's personal room, everyone, students
EXIT_WITHIN = 5.0


@pytest.fixture(params=["single channel", "sharded"])
def bus_gateway(request, gateways):
    """A gateway on the shared Redis's one channel, or on the local Redis Cluster's sharded channels."""
    if request.param == "sharded":
        cluster = request.getfixturevalue("redis_cluster")
        return gateways(REDIS_URL="", REDIS_CLUSTER_NODES=cluster.nodes_setting), True
    return gateways(), False


def exit_code(proc: subprocess.Popen, timeout: float) -> int | None:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def test_sigterm_with_hundreds_of_sockets_exits_at_once_and_drops_every_socket(bus_gateway):
    gateway, sharded = bus_gateway

    async def scenario():
        client = Client([gateway.port], TEST_SECRET, "student")
        opened = await client.connect(first=1, count=SOCKETS, concurrency=50, timeout=30)
        assert opened["connected"] == SOCKETS, opened
        try:
            await eventually(lambda: gateway.metrics()["gateway_sockets_connected"] == SOCKETS,
                             what=f"{SOCKETS} sockets held")
            if sharded:
                # Every room subscribed: the shutdown has all of them to let go of.
                await eventually(lambda: gateway.metrics().get("gateway_bus_rooms_subscribed") == ROOMS,
                                 timeout=30, what=f"{ROOMS} rooms subscribed")
            began = time.monotonic()
            gateway.proc.terminate()
            code = await asyncio.to_thread(exit_code, gateway.proc, EXIT_WITHIN)
            took = time.monotonic() - began
            assert code == 0, f"exit code {code} after {took:.1f}s (None: still running):\n{gateway.log()}"
            # The transports were closed by the gateway, not by its death: every client saw it.
            await eventually(lambda: all(conn.closed for conn in client.conns), timeout=5,
                             what="every client's connection closed")
            assert client.dropped == SOCKETS
        finally:
            await client.handle({"cmd": "close"})

    run(scenario(), timeout=90)


async def wakes_on(event: asyncio.Event) -> None:
    """A loop like the relay's: each wake-up through `asyncio.wait_for`."""
    while True:
        await asyncio.wait_for(event.wait(), 5)
        event.clear()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="asyncio.wait_for keeps a cancellation from 3.12 on")
def test_a_loop_that_loses_its_cancellation_in_wait_for_is_stopped_all_the_same():
    async def scenario():
        event = asyncio.Event()
        once = asyncio.create_task(wakes_on(event))
        await asyncio.sleep(0)
        # The wake-up and the cancellation in one loop iteration: wait_for returns, the loop runs on.
        event.set()
        once.cancel()
        done, _ = await asyncio.wait([once], timeout=0.5)
        assert not done
        event.set()
        await stop([once], grace=0.05, timeout=1)
        assert once.cancelled()

    run(scenario(), timeout=10)


def test_stop_gives_up_on_a_task_that_ignores_every_cancellation():
    async def deaf(released: asyncio.Event) -> None:
        while not released.is_set():
            with suppress(asyncio.CancelledError):
                await released.wait()

    async def scenario():
        released = asyncio.Event()
        task = asyncio.create_task(deaf(released))
        await asyncio.sleep(0)
        began = time.monotonic()
        await stop([task], grace=0.05, timeout=0.3)
        took = time.monotonic() - began
        assert not task.done() and 0.3 <= took < 1, took
        released.set()
        await task

    run(scenario(), timeout=10)
