"""Faults: Redis dies and comes back, no Redis at all, ids committing out of order."""
from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy.orm import Session

from shared.db import make_engine
from shared.events import record_event
from tests.gateway.helpers import Sock, run

MENTOR = ("mentor", 61)
STUDENT = ("student", 71)


class TestRedisRestart:
    @pytest.fixture
    def redis_url(self, throwaway_redis):
        return throwaway_redis.url

    def test_every_client_gets_every_event_once_across_a_redis_restart(
        self, gateways, api, token, throwaway_redis
    ):
        first, second = gateways(), gateways()
        cid = api.group(1, [MENTOR, STUDENT, ("student", 72)])
        total = 30

        def send_all():
            for n in range(total):
                api.send(MENTOR, cid, f"m{n}")
                if n == 10:
                    throwaway_redis.kill()
                if n == 20:
                    throwaway_redis.start()

        async def scenario():
            clients = [
                await Sock(first.url).connect(token(*STUDENT)),
                await Sock(second.url).connect(token("student", 72)),
                await Sock(second.url).connect(token(*MENTOR)),
            ]
            sender = threading.Thread(target=send_all)
            sender.start()
            await asyncio.to_thread(sender.join, 60)
            want = {f"m{n}" for n in range(total)}
            for client in clients:
                await client.wait_for(lambda c: set(c.bodies()) == want, timeout=20, what="all 30 messages")
            await asyncio.sleep(1.0)
            for client in clients:
                # Exactly once even before the client's own dedupe by id.
                assert sorted(client.bodies()) == sorted(want)
                assert len(client.ids()) == len(set(client.ids()))
            for client in clients:
                await client.close()

        run(scenario(), timeout=90)
        for gateway in (first, second):
            metrics = gateway.metrics()
            assert metrics["gateway_redis_reconnects_total"] >= 1
            assert metrics["gateway_events_from_log_total"] >= 1


class TestEmbeddedDefault:
    @pytest.fixture
    def redis_url(self):
        return None

    def test_without_redis_the_gateway_delivers_from_the_log(self, gateways, api, token):
        gateway = gateways()
        cid = api.group(1, [MENTOR, STUDENT])

        async def scenario():
            student = await Sock(gateway.url).connect(token(*STUDENT))
            for n in range(5):
                await api.a("send", MENTOR, cid, f"m{n}")
            await student.wait_for(lambda c: len(c.bodies()) == 5, what="5 messages from the log")
            await asyncio.sleep(0.5)
            assert student.bodies() == [f"m{n}" for n in range(5)]
            await student.close()

        run(scenario())
        assert "gateway_redis_subscribed" not in gateway.metrics()

    @pytest.mark.mysql
    def test_a_late_committing_lower_id_is_not_skipped(self, gateways, token, database_url, app):
        """Two connections: id N is inserted first but committed after N+1 was read."""
        gateway = gateways()
        engine = make_engine(database_url)
        room = "student:71"

        async def scenario():
            student = await Sock(gateway.url).connect(token(*STUDENT))
            early, late = Session(engine), Session(engine)
            try:
                low = record_event(early, room, "note:created", {"n": "low"})  # flushed: holds id N
                high = record_event(late, room, "note:created", {"n": "high"})
                assert low["id"] < high["id"]
                late.commit()
                await student.wait_for(lambda c: c.of("note:created"), what="the higher id")
                await asyncio.sleep(0.6)  # several polls past N+1 while N is still uncommitted
                early.commit()
                await student.wait_for(lambda c: len(c.of("note:created")) == 2, what="the late lower id")
            finally:
                early.close()
                late.close()
            assert [e["data"]["n"] for e in student.of("note:created")] == ["high", "low"]
            await student.close()

        try:
            run(scenario())
        finally:
            engine.dispose()
