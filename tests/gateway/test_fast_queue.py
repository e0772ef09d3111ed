"""`gateway.fast.queue.PacketQueue`: asyncio.Queue's behaviour as python-engineio
uses it, in less memory per idle socket."""
from __future__ import annotations

import asyncio
import tracemalloc

import pytest
import socketio

from gateway.fast.queue import PacketQueue, install
from tests.gateway.helpers import run


def test_fifo_and_get_nowait():
    async def scenario():
        queue = PacketQueue()
        assert queue.empty() and queue.qsize() == 0
        with pytest.raises(asyncio.QueueEmpty):
            queue.get_nowait()
        for i in range(5):
            await queue.put(i)
        assert queue.qsize() == 5 and not queue.empty()
        assert [await queue.get() for _ in range(3)] == [0, 1, 2]
        assert [queue.get_nowait(), queue.get_nowait()] == [3, 4]
        assert queue.empty()

    run(scenario())


def test_a_parked_getter_gets_the_next_item_and_is_reported_waiting():
    async def scenario():
        queue = PacketQueue()
        getter = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)
        assert queue.consumer_waiting()
        queue.put_nowait("a")
        assert not queue.consumer_waiting()  # handed over, not yet written by its taker
        assert await asyncio.wait_for(getter, 1) == "a"
        assert queue.empty()

    run(scenario())


def test_a_timed_out_getter_loses_nothing():
    """python-engineio's writer waits with wait_for(queue.get(), timeout)."""
    async def scenario():
        queue = PacketQueue()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(queue.get(), 0.01)
        assert not queue.consumer_waiting()
        queue.put_nowait("kept")
        queue.put_nowait("next")
        assert await asyncio.wait_for(queue.get(), 1) == "kept"
        assert queue.get_nowait() == "next"

    run(scenario())


def test_several_getters_are_served_in_order():
    async def scenario():
        queue = PacketQueue()
        getters = [queue.get() for _ in range(3)]
        getters[1].cancel()
        for item in ("x", "y"):
            queue.put_nowait(item)
        assert [getters[0].result(), getters[2].result()] == ["x", "y"]
        assert queue.empty() and not queue.consumer_waiting()

    run(scenario())


def test_join_waits_for_every_task_done():
    async def scenario():
        queue = PacketQueue()
        await queue.join()  # nothing put: returns at once
        queue.put_nowait(1)
        queue.put_nowait(2)
        joiner = asyncio.ensure_future(queue.join())
        queue.get_nowait()
        queue.task_done()
        await asyncio.sleep(0.01)
        assert not joiner.done()
        queue.get_nowait()
        queue.task_done()
        await asyncio.wait_for(joiner, 1)
        with pytest.raises(ValueError):
            queue.task_done()

    run(scenario())


def test_bounded_queues_are_refused():
    with pytest.raises(ValueError):
        PacketQueue(maxsize=10)


def test_an_idle_queue_with_its_parked_getter_is_much_smaller_than_asyncio_queue():
    """What an idle Engine.IO socket holds: the queue and the writer's pending get."""
    async def measure(make, count=2000):
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            held = []
            for _ in range(count):
                queue = make()
                held.append((queue, asyncio.ensure_future(asyncio.wait_for(queue.get(), 60))))
            await asyncio.sleep(0)
            size = (tracemalloc.get_traced_memory()[0] - before) / count
        finally:
            tracemalloc.stop()
        for _, waiter in held:
            waiter.cancel()
        await asyncio.gather(*(w for _, w in held), return_exceptions=True)
        return size

    async def scenario():
        return await measure(asyncio.Queue), await measure(PacketQueue)

    stock, ours = run(scenario())
    assert ours < stock - 1500, (stock, ours)


def test_install_gives_new_engineio_sockets_a_packet_queue():
    sio = socketio.AsyncServer(async_mode="aiohttp")
    other = socketio.AsyncServer(async_mode="aiohttp")
    install(sio.eio)
    assert isinstance(sio.eio.create_queue(), PacketQueue)
    assert isinstance(other.eio.create_queue(), asyncio.Queue)  # only the server it was given
