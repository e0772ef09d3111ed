"""Connects in batches: one room query for many sockets, nothing lost meanwhile."""
from __future__ import annotations

import asyncio

import pytest
import socketio

from gateway import membership
from gateway.batch import Coalescer
from gateway.database import Database
from gateway.lookup import RoomLookup, conversation_ids_of
from gateway.registry import Registry, SocketState
from gateway.tasks import Tasks
from shared import rooms
from shared.auth import Principal
from shared.db import make_engine
from tests.gateway.helpers import Sock, eventually, run
from tests.jwt_forge import claims as _claims
from tests.jwt_forge import hs as _hs

MENTOR = ("mentor", 1)
STUDENTS = [("student", 100 + i) for i in range(10)]


def _groups(api) -> tuple[list[int], dict[tuple[str, int], set[int]]]:
    """Conversation k: the mentor and students k and k+1 (each student in two)."""
    cids, expect = [], {s: set() for s in STUDENTS}
    for k in range(len(STUDENTS)):
        pair = [STUDENTS[k], STUDENTS[(k + 1) % len(STUDENTS)]]
        cid = api.group(1, [MENTOR, *pair], title=f"g{k}")
        cids.append(cid)
        for s in pair:
            expect[s].add(cid)
    return cids, expect


def test_many_concurrent_connects_each_get_exactly_their_rooms(gateways, api, token):
    gateway = gateways()
    cids, expect = _groups(api)
    who = [s for s in STUDENTS for _ in range(2)]  # two tabs each: lookups shared per principal

    async def scenario():
        clients = [Sock(gateway.url) for _ in who]
        bad = Sock(gateway.url)
        results = await asyncio.gather(*(c.connect(token(*s)) for c, s in zip(clients, who, strict=True)),
                                       bad.connect(_hs(_claims(role="janitor"))), return_exceptions=True)
        assert all(r is c for r, c in zip(results[:-1], clients, strict=True)), results
        # A refusal in the same storm still gets its own code.
        assert isinstance(results[-1], socketio.exceptions.ConnectionError)
        await eventually(lambda: bad.errors, what="the refusal")
        assert bad.errors[0]["data"]["code"] == "token_role_unknown"
        for cid in cids:
            await api.a("send", MENTOR, cid, f"m{cid}")
        for client, s in zip(clients, who, strict=True):
            want = {f"m{cid}" for cid in expect[s]}
            await client.wait_for(lambda c, want=want: set(c.bodies()) >= want, what=f"messages for {s}")
        await asyncio.sleep(0.3)  # anything misrouted would have arrived by now
        for client, s in zip(clients, who, strict=True):
            assert sorted(client.bodies()) == sorted(f"m{cid}" for cid in expect[s])
        await asyncio.gather(*(c.close() for c in clients))

    run(scenario())
    metrics = gateway.metrics()
    assert metrics["gateway_sockets_connected"] == 0
    assert 1 <= metrics["gateway_room_lookups_total"] <= metrics["gateway_connections_total"] == len(who)


@pytest.fixture
def db(database_url):
    db = Database(make_engine(database_url))
    yield db
    db.engine.dispose()


def test_one_query_answers_every_principal_asking_in_the_same_moment(db, api):
    _, expect = _groups(api)
    lonely = Principal("student", 999)

    async def scenario():
        lookup = RoomLookup(db, None, Tasks())
        asked = [Principal(*s) for s in STUDENTS] + [lonely, Principal(*STUDENTS[0])]
        answers = await asyncio.gather(*(lookup.rooms_of(p) for p in asked))
        assert lookup.batcher.batches == 1
        for p, got in zip(asked, answers, strict=True):
            conv = sorted(expect.get((p.role, p.id), set()))
            assert got == rooms.base_rooms(p) + [rooms.conversation(c) for c in conv]

    run(scenario())


def test_batches_are_capped_and_errors_reach_every_caller_of_the_batch():
    calls: list[list[int]] = []

    async def fetch(keys: list[int]) -> dict[int, int]:
        calls.append(keys)
        await asyncio.sleep(0.01)
        if 13 in keys:
            raise RuntimeError("database down")
        return {k: k * 2 for k in keys if k != 7}

    async def scenario():
        batcher = Coalescer(fetch, max_batch=5, max_in_flight=1)
        got = await asyncio.gather(*(batcher.get(k) for k in range(15)), return_exceptions=True)
        assert [len(c) for c in calls] == [5, 5, 5]
        assert got[:5] == [0, 2, 4, 6, 8]
        assert isinstance(got[7], KeyError)  # fetch answered without it
        assert all(isinstance(g, RuntimeError) for g in got[10:])
        assert await batcher.get(3) == 6  # later calls start a fresh batch

    run(scenario())


@pytest.mark.parametrize("change_lands", ["before_the_query", "after_the_query"])
def test_a_membership_change_during_a_batched_lookup_is_not_lost(db, api, change_lands):
    """The socket is registered (pending) before its lookup; a change relayed
    while the lookup runs is re-applied on top of the answer, whether the
    query read before or after the change was committed."""
    cids, _ = _groups(api)
    student = Principal(*STUDENTS[0])
    joined, left = api.group(1, [MENTOR], title="new"), cids[0]

    class Gated(RoomLookup):
        async def _fetch(self, principals):
            if change_lands == "before_the_query":
                await gate.wait()
                return await super()._fetch(principals)
            found = await super()._fetch(principals)
            await gate.wait()
            return found

    async def scenario():
        lookup, registry = Gated(db, None, Tasks()), Registry(socketio.AsyncServer(async_mode="aiohttp"))
        state = SocketState("sid-1", student, rooms.base_rooms(student))
        registry.add(state)
        task = asyncio.ensure_future(lookup.rooms_of(student))
        await eventually(lambda: lookup.batcher.in_flight, what="the lookup to start")
        await asyncio.sleep(0.2)  # "after": the query has read by now
        # The API commits the changes, the relay delivers their events.
        await api.a("add", 1, joined, STUDENTS[0])
        await api.a("remove", 1, left, STUDENTS[0])
        for type_, cid in (("participant:added", joined), ("participant:removed", left)):
            data = {"conversation_id": cid, "principal": student.as_dict()}
            membership.follow(registry, {"type": type_, "room": rooms.conversation(cid), "data": data})
        gate.set()
        registry.set_rooms(state, await asyncio.wait_for(task, 10))
        assert rooms.conversation(joined) in state.rooms
        assert rooms.conversation(left) not in state.rooms
        assert set(state.rooms) == set(rooms.base_rooms(student)) | {rooms.conversation(cids[-1]),
                                                                      rooms.conversation(joined)}

    gate = asyncio.Event()
    run(scenario())


def test_the_batched_query_matches_the_per_principal_one(db, api):
    from shared import eventlog

    _groups(api)
    principals = [Principal(*s) for s in STUDENTS] + [Principal(*MENTOR), Principal("admin", 1)]
    with db.engine.connect() as conn:
        batched = conversation_ids_of(conn, principals)
        for p in principals:
            assert batched[p] == eventlog.conversation_ids(conn, p)


@pytest.mark.mysql
def test_a_lookup_on_a_connection_the_server_dropped_is_retried(db, api, database_url):
    """The lookup engine has no pre-ping: a pooled connection the server
    closed (wait_timeout, restart) fails once and the query runs again."""
    from sqlalchemy import create_engine

    from gateway.lookup import lookup_engine

    _, expect = _groups(api)
    student = Principal(*STUDENTS[0])
    want = rooms.base_rooms(student) + [rooms.conversation(c) for c in sorted(expect[STUDENTS[0]])]

    async def scenario():
        lookup = RoomLookup(db, lookup_engine(database_url), Tasks())
        try:
            assert await lookup.rooms_of(student) == want  # one pooled connection now
            with lookup.engine.connect() as conn:
                victim = conn.exec_driver_sql("SELECT CONNECTION_ID()").scalar()
            killer = create_engine(database_url)
            with killer.connect() as conn:
                conn.exec_driver_sql(f"KILL {int(victim)}")
            killer.dispose()
            assert await lookup.rooms_of(student) == want
        finally:
            lookup.engine.dispose()

    run(scenario())
