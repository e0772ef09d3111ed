"""Order and membership under load: every socket sees a conversation's events
in `seq` order with no gap, a member removed mid-run gets nothing after its
removal, a member added mid-run everything after its addition, on both of
two gateways.

Several senders (threads over the REST API) write to one group back to back
(a fixed number of messages, at whatever pace the machine allows), so
publishes after commit overtake each other and the
log reader races the bus; each gateway has to hold back what comes early.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import rooms
from shared.db import make_engine
from shared.models import Conversation, Event
from tests.conftest import TEST_SECRET
from tests.gateway.conftest import EVENTS_SECRET, ROOT, free_port
from tests.gateway.helpers import Api, Sock, run

ADMIN = 1
SENDERS = [("mentor", 21)] + [("student", n) for n in range(31, 36)]
REMOVED, ADDED, WATCHER = ("student", 41), ("student", 51), ("mentor", 22)
LISTENERS = [WATCHER, REMOVED, ADDED]  # a socket each on both gateways
# Messages in the run, whatever the machine's pace: removal after 30% of them,
# addition after 60% (six senders back to back make the concurrency).
MESSAGES = 500
MAX_SECONDS = 60


@pytest.fixture
def config(config):
    return config.replace(send_rate_limit=0)  # 100+ a second from a few senders


@pytest.fixture
def sending_api(database_url, redis_url, channel, tmp_path):
    """The API under gunicorn (the Procfile's way) for the senders: the
    in-process one shares the test's GIL with the socket clients."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GATEWAY_", "REDIS_", "API_"))}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, JWT_SECRET=TEST_SECRET, EVENTS_CHANNEL=channel,
               EVENTS_SIGNING_SECRET=EVENTS_SECRET, SEND_RATE_LIMIT="0", API_PORT=str(port), API_WORKERS="2",
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    with open(tmp_path / "api.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "api/gunicorn_conf.py", "api.wsgi:app"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(url + "/healthz", timeout=1)
                break
            except requests.RequestException:
                assert proc.poll() is None, (tmp_path / "api.log").read_text()[-2000:]
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


class Senders:
    """Each sender posts messages back to back until stopped (one HTTP session each)."""

    def __init__(self, base: str, token, cid: int):
        self.base, self.token, self.cid = base, token, cid
        self.stop, self.sent, self.errors = threading.Event(), 0, []
        self.threads = [threading.Thread(target=self._send, args=(who,), daemon=True) for who in SENDERS]

    def _send(self, who) -> None:
        api, n = Api(self.base, self.token), 0
        while not self.stop.is_set():
            try:
                api.send(who, self.cid, f"{who[0]}{who[1]}-{n}")
                self.sent += 1
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(exc)
                return
            n += 1

    def __enter__(self) -> "Senders":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)


def room_log(database_url: str, cid: int) -> tuple[int, list[tuple[int, str]]]:
    """The room's last seq, and (seq, type) of its logged events in seq order."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            rows = session.execute(select(Event.seq, Event.type)
                                   .where(Event.room == rooms.conversation(cid)).order_by(Event.seq)).all()
            last_seq = session.get(Conversation, cid).last_seq
    finally:
        engine.dispose()
    assert [seq for seq, _ in rows] == list(range(last_seq - len(rows) + 1, last_seq + 1)), "seq has gaps in the log"
    return last_seq, [(seq, type_) for seq, type_ in rows]


def seqs(sock: Sock, cid: int) -> list[int]:
    room = rooms.conversation(cid)
    return [data["seq"] for _, data in sock.events if isinstance(data, dict) and data.get("room") == room]


def test_two_gateways_deliver_in_seq_order_and_membership_changes_are_exact(
        gateways, api, token, sending_api, database_url):
    first, second = gateways(), gateways()
    cid = api.group(ADMIN, SENDERS + [REMOVED, WATCHER])

    async def scenario():
        socks = {}
        for gateway in (first, second):
            for who in LISTENERS:
                socks[gateway.port, who] = await Sock(gateway.url).connect(token(*who))
        base, _ = room_log(database_url, cid)
        started = time.monotonic()
        with Senders(sending_api, token, cid) as senders:
            await _sent_at_least(senders, MESSAGES * 0.3)
            await api.a("remove", ADMIN, cid, REMOVED)
            await _sent_at_least(senders, MESSAGES * 0.6)
            await api.a("add", ADMIN, cid, ADDED)
            await _sent_at_least(senders, MESSAGES)
        elapsed = time.monotonic() - started
        assert not senders.errors, senders.errors[:3]
        last, log = room_log(database_url, cid)
        removed_at = next(seq for seq, type_ in log if type_ == "participant:removed")
        added_at = next(seq for seq, type_ in log if type_ == "participant:added")
        assert base < removed_at < added_at < last

        # A sentinel after everything: once the watcher has the last seq on
        # both gateways, and each socket has the sentinel in its own room,
        # nothing of the run can still be on its way.
        for gateway in (first, second):
            await socks[gateway.port, WATCHER].wait_for(lambda c: last in seqs(c, cid), what="the last seq")
        for who in LISTENERS:
            await api.a("publish", {"to": {"role": who[0], "id": who[1]}}, "test:sentinel", {})
        for sock in socks.values():
            await sock.wait_for(lambda c: c.of("test:sentinel"), what="the sentinel")

        for (port, who), sock in socks.items():
            got = seqs(sock, cid)
            if who == REMOVED:
                expected = list(range(base + 1, removed_at))
            elif who == ADDED:
                expected = list(range(added_at, last + 1))
            else:
                expected = list(range(base + 1, last + 1))
            assert got == expected, (port, who, _first_difference(got, expected))
        for gateway in (first, second):
            held = gateway.metrics()["gateway_order_held_total"]
            print(f"{senders.sent / elapsed:.0f} msg/s; gateway {gateway.port}: {held:.0f} events held back")
        for sock in socks.values():
            await sock.close()

    run(scenario(), timeout=120)


async def _sent_at_least(senders: Senders, count: float) -> None:
    """Until the senders have sent `count` messages (bounded: a stalled API fails the run)."""
    deadline = time.monotonic() + MAX_SECONDS
    while senders.sent < count and not senders.errors:
        assert time.monotonic() < deadline, f"only {senders.sent} messages sent in {MAX_SECONDS} s"
        await asyncio.sleep(0.01)


def _first_difference(got: list[int], expected: list[int]) -> str:
    for index, (a, b) in enumerate(zip(got, expected, strict=False)):
        if a != b:
            window = slice(max(0, index - 3), index + 4)
            return f"at {index}: got {got[window]}, expected {expected[window]}"
    return f"got {len(got)} seqs, expected {len(expected)}"
