"""The sharded bus on a local Redis Cluster (3 masters, 3 replicas).

The API and the gateways have REDIS_CLUSTER_NODES and no REDIS_URL: every
event travels by SPUBLISH on its room's channel, and a gateway subscribes
only to the rooms it holds sockets in. Where a test says the bus brought
something (not the log reader), its gateways read the log only rarely
(GATEWAY_SAFETY_INTERVAL=30) and it checks `gateway_events_from_log_total`.
"""
from __future__ import annotations

import asyncio
import threading

import pytest
from redis.crc import key_slot

from shared.events import room_channel
from tests.gateway.helpers import Sock, eventually, run
from tests.redis_cluster import LocalCluster

MENTOR = ("mentor", 81)
STUDENT = ("student", 91)
OTHER = ("student", 92)
LATECOMER = ("student", 93)
QUIET = {"GATEWAY_SAFETY_INTERVAL": "30"}  # the log reader stays out of the way


@pytest.fixture
def redis_url():
    return None


@pytest.fixture
def config(base_config, channel, redis_cluster):
    """The in-process API publishes on the cluster, per room."""
    nodes = [("127.0.0.1", port) for port in redis_cluster.ports]
    return base_config.replace(redis_url=None, events_channel=channel, redis_cluster_nodes=nodes)


@pytest.fixture
def cluster_gateways(gateways, redis_cluster):
    return lambda **env: gateways(REDIS_CLUSTER_NODES=redis_cluster.nodes_setting, **env)


async def rooms_subscribed(gateway, at_least: int) -> None:
    """Until Redis confirmed the gateway's subscriptions to its sockets' rooms."""
    try:
        await eventually(lambda: gateway.metrics().get("gateway_bus_rooms_subscribed", 0) >= at_least,
                         what=f"{at_least} rooms subscribed on {gateway.url}")
    except AssertionError:
        raise AssertionError(f"{gateway.metrics().get('gateway_bus_rooms_subscribed')} rooms subscribed,"
                             f" not {at_least}:\n{gateway.log()}") from None


def test_a_rest_change_reaches_clients_on_two_gateways_by_the_sharded_bus(cluster_gateways, api, token):
    first, second = cluster_gateways(**QUIET), cluster_gateways(**QUIET)
    cid = api.group(1, [MENTOR, STUDENT, OTHER])

    async def scenario():
        mentor = await Sock(first.url).connect(token(*MENTOR))
        students = [await Sock(second.url).connect(token(*who)) for who in (STUDENT, OTHER)]
        # Personal, everyone, mentors|students, the conversation (+ the other student's personal room).
        await rooms_subscribed(first, 4)
        await rooms_subscribed(second, 5)
        before = [g.metrics()["gateway_events_from_log_total"] for g in (first, second)]
        bodies = [f"m{n}" for n in range(5)]
        for body in bodies:
            await api.a("send", STUDENT, cid, body)
        for sock in (mentor, *students):
            await sock.wait_for(lambda c: c.bodies() == bodies, what="5 messages in order")
        after = [g.metrics()["gateway_events_from_log_total"] for g in (first, second)]
        assert after == before  # the bus brought them, not the log
        for sock in (mentor, *students):
            await sock.close()

    run(scenario())
    assert first.metrics()["gateway_bus_messages_total"] >= 5


def test_a_gateway_receives_no_bus_message_for_a_room_it_does_not_hold(cluster_gateways, api, token):
    busy, idle = cluster_gateways(**QUIET), cluster_gateways(**QUIET)
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        mentor = await Sock(busy.url).connect(token(*MENTOR))
        outsider = await Sock(idle.url).connect(token(*LATECOMER))
        await rooms_subscribed(busy, 4)
        await rooms_subscribed(idle, 3)
        received = idle.metrics()["gateway_bus_messages_total"]
        for n in range(10):
            await api.a("send", STUDENT, cid, f"m{n}")
        await mentor.wait_for(lambda c: len(c.bodies()) == 10, what="10 messages on the busy gateway")
        # The sentinel is published after the ten: once it is in, they would have been too.
        await api.a("publish", {"to": {"role": LATECOMER[0], "id": LATECOMER[1]}}, "note:created", {"n": 1})
        await outsider.wait_for(lambda c: c.of("note:created"), what="the sentinel")
        assert idle.metrics()["gateway_bus_messages_total"] == received + 1
        assert outsider.bodies() == []
        await mentor.close()
        await outsider.close()

    run(scenario())
    assert busy.metrics()["gateway_bus_messages_total"] >= 10


def test_replay_after_a_reconnect_then_live_in_order(cluster_gateways, api, token):
    gateway = cluster_gateways()
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        student = await Sock(gateway.url).connect(token(*STUDENT))
        await api.a("send", MENTOR, cid, "seen")
        await student.wait_for(lambda c: c.bodies() == ["seen"], what="the first message")
        await student.close()  # its last socket: the gateway drops the room's channels
        last_seen = student.ids()[-1]
        for n in range(5):
            await api.a("send", MENTOR, cid, f"missed {n}")
        back = Sock(gateway.url)
        sending = asyncio.ensure_future(api.a("send", MENTOR, cid, "live"))
        await back.connect(token(*STUDENT), last_event_id=last_seen)
        await sending
        await api.a("send", MENTOR, cid, "after")
        want = [f"missed {n}" for n in range(5)] + ["live", "after"]
        await back.wait_for(lambda c: c.bodies()[-1:] == ["after"], what="replay + live")
        assert back.bodies() == want
        # Each room in order, nothing twice (rooms travel on channels of their own: no order across them).
        room = [e["id"] for _, e in back.events if isinstance(e, dict) and e.get("room") == f"conversation:{cid}"]
        assert room == sorted(room) and len(set(back.ids())) == len(back.ids())
        await back.close()

    run(scenario())
    assert gateway.metrics()["gateway_events_replayed_total"] >= 5


def test_a_member_added_mid_life_starts_receiving_and_a_removed_one_stops(cluster_gateways, api, token):
    first, second = cluster_gateways(**QUIET), cluster_gateways(**QUIET)
    cid = api.group(1, [MENTOR, STUDENT])

    async def scenario():
        mentor = await Sock(first.url).connect(token(*MENTOR))
        late = await Sock(second.url).connect(token(*LATECOMER))  # nobody on `second` holds the conversation
        await rooms_subscribed(second, 3)
        await api.a("add", 1, cid, LATECOMER)
        await late.wait_for(lambda c: c.of("participant:added"), what="participant:added")
        await api.a("send", MENTOR, cid, "welcome")
        await late.wait_for(lambda c: c.bodies() == ["welcome"], what="the first message after joining")

        await api.a("remove", 1, cid, LATECOMER)
        await late.wait_for(lambda c: c.of("participant:removed"), what="participant:removed")
        await api.a("send", MENTOR, cid, "after you left")
        await mentor.wait_for(lambda c: "after you left" in c.bodies(), what="the mentor's copy")
        await api.a("publish", {"to": {"role": LATECOMER[0], "id": LATECOMER[1]}}, "note:created", {"n": 1})
        await late.wait_for(lambda c: c.of("note:created"), what="the sentinel")
        assert late.bodies() == ["welcome"]
        await mentor.close()
        await late.close()

    run(scenario())


def master_of(cluster: LocalCluster, channel: str) -> int:
    """The port of the master serving `channel`'s slot now."""
    slot = key_slot(channel.encode())
    for start, end, master, *_ in cluster.client(cluster.masters()[0]).execute_command("CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return int(master[1])
    raise AssertionError(f"slot {slot} is not served")


def test_killing_a_master_mid_run_loses_nothing(cluster_gateways, api, token, redis_cluster, channel):
    first, second = cluster_gateways(), cluster_gateways()
    cid = api.group(1, [MENTOR, STUDENT, OTHER])
    victim = master_of(redis_cluster, room_channel(channel, f"conversation:{cid}"))
    total = 40

    def send_all():
        for n in range(total):
            api.send(MENTOR, cid, f"m{n}")
            if n == 10:
                redis_cluster.kill(victim)

    async def scenario():
        clients = [await Sock(first.url).connect(token(*STUDENT)),
                   await Sock(second.url).connect(token(*OTHER)),
                   await Sock(second.url).connect(token(*MENTOR))]
        await rooms_subscribed(first, 4)
        await rooms_subscribed(second, 6)
        sender = threading.Thread(target=send_all)
        sender.start()
        await asyncio.to_thread(sender.join, 90)
        want = [f"m{n}" for n in range(total)]
        await api.a("send", MENTOR, cid, "sentinel")
        for client in clients:
            await client.wait_for(lambda c: "sentinel" in c.bodies(), timeout=30, what="the sentinel")
            # Exactly once and in order, before any client-side dedupe.
            assert client.bodies() == want + ["sentinel"]
            assert len(client.ids()) == len(set(client.ids()))
        # The log brought what the bus missed, maybe before the replica took
        # over: each gateway resubscribes once it has (within the failover).
        for gateway in (first, second):
            await eventually(lambda g=gateway: g.metrics()["gateway_redis_reconnects_total"] >= 1, timeout=30,
                             what="the gateway resubscribed after the failover")
        for client in clients:
            await client.close()

    try:
        run(scenario(), timeout=150)
    finally:
        # The next tests get the cluster whole again (the old master comes back as a replica).
        redis_cluster.kill(victim)
        redis_cluster.restart(victim)
        redis_cluster.wait_ok()
