"""End-to-end and REST figures: the API under gunicorn plus one gateway.

- E2E latency: mentor i posts `POST /api/v1/conversations/i/messages` at a
  fixed rate; student i, connected to the gateway, receives
  `message:created`. The body carries the `bt=<send time>|<n>~` marker the
  load client reads, so latency runs from just before the POST to receipt.
- REST: requests/s and p99 of send-message (spread over the E2E
  conversations) and of list-conversations for a mentor with 200
  conversations, each with a message, at a fixed concurrency.

Data is written straight through the models (much faster than the API).
The API runs as the Procfile runs it: gunicorn with `api/gunicorn_conf.py`.
"""
from __future__ import annotations

import asyncio
import time

import aiohttp
from sqlalchemy.orm import Session

from bench.harness import PY, Env, LoadClient, Target, free_port, start, stop, wait_http
from shared.auth import mint_token
from shared.config import Config
from shared.db import make_engine
from shared.models import Conversation, Message, Participant, Relationship
from shared.timeutil import utcnow

HEAVY_MENTOR = 500_000
HEAVY_CONVERSATIONS = 200
REST_CONCURRENCY = 8


def seed(database_url: str, users: int) -> None:
    """Direct conversation i between mentor i and student i (1..users), and a
    mentor with 200 conversations, each with one message. Each pair shares an
    active relationship: a mentor and a student write to each other only
    while they do (403 relationship_closed otherwise)."""
    engine = make_engine(database_url)
    now = utcnow()
    with Session(engine) as session:
        def direct(cid: int, mentor: int, student: int) -> None:
            session.add(Conversation(id=cid, type="direct", direct_key=f"mentor:{mentor}|student:{student}",
                                     last_seq=0, last_activity_at=now, created_at=now))
            session.add(Participant(conversation_id=cid, role="mentor", principal_id=mentor, joined_at=now))
            session.add(Participant(conversation_id=cid, role="student", principal_id=student, joined_at=now))
            session.add(Relationship(mentor_id=mentor, student_id=student, status="active", requested_by="student",
                                     created_at=now, updated_at=now, responded_at=now))

        for i in range(1, users + 1):
            direct(i, i, i)
        for k in range(HEAVY_CONVERSATIONS):
            direct(users + 1 + k, HEAVY_MENTOR, HEAVY_MENTOR + 1 + k)
        session.flush()
        for k in range(HEAVY_CONVERSATIONS):
            cid = users + 1 + k
            message = Message(conversation_id=cid, sender_role="mentor", sender_id=HEAVY_MENTOR,
                              body=f"hello {k}", reply_count=0, created_at=now)
            session.add(message)
            session.flush([message])
            session.get(Conversation, cid).last_message_id = message.id
        session.commit()
    engine.dispose()


def pct(values: list[float], p: float) -> float | None:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] * 1000 if values else None


class Api:
    def __init__(self, env: Env, config: Config):
        self.env, self.config = env, config
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        self.tokens: dict[int, str] = {}

    def token(self, mentor: int) -> str:
        if mentor not in self.tokens:
            self.tokens[mentor] = mint_token(self.config, "mentor", mentor, ttl=7200)
        return self.tokens[mentor]

    async def __aenter__(self) -> "Api":
        env = dict(self.env.base, API_PORT=str(self.port), SEND_RATE_LIMIT="0")
        self.proc = await start([PY, "-m", "gunicorn", "-c", "api/gunicorn_conf.py", "api.wsgi:app"], env,
                                f"{self.env.logdir}/api-{self.port}.log")
        await wait_http(self.port, timeout=60)
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64),
                                             timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def __aexit__(self, *exc) -> None:
        await self.session.close()
        await stop(self.proc)

    async def send(self, conversation: int, mentor: int, body: str) -> tuple[int, float]:
        started = time.monotonic()
        async with self.session.post(f"{self.url}/conversations/{conversation}/messages", json={"body": body},
                                     headers={"Authorization": f"Bearer {self.token(mentor)}"}) as resp:
            await resp.read()
            return resp.status, time.monotonic() - started

    async def list_conversations(self, mentor: int) -> tuple[int, float]:
        started = time.monotonic()
        async with self.session.get(f"{self.url}/conversations",
                                    headers={"Authorization": f"Bearer {self.token(mentor)}"}) as resp:
            await resp.read()
            return resp.status, time.monotonic() - started


async def paced_sends(api: Api, users: int, rate: int, secs: float, first_n: int) -> tuple[int, int, float, list]:
    """POST at `rate`/s for `secs`; returns (ok, failed, achieved rate, HTTP latencies)."""
    count = int(rate * secs)
    started = time.monotonic()
    tasks = []
    for k in range(count):
        delay = started + k / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        i = 1 + (first_n + k) % users
        tasks.append(asyncio.ensure_future(api.send(i, i, f"bt={time.monotonic():.6f}|{first_n + k}~")))
    sent_secs = time.monotonic() - started
    results = await asyncio.gather(*tasks, return_exceptions=True)
    ok = [r[1] for r in results if isinstance(r, tuple) and r[0] == 201]
    return len(ok), count - len(ok), count / sent_secs, ok


async def closed_loop(call, secs: float) -> dict:
    """REST_CONCURRENCY workers calling back to back for `secs`."""
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + secs

    async def worker(w: int) -> None:
        nonlocal errors
        k = w
        while time.monotonic() < deadline:
            try:
                status, took = await call(k)
            except (aiohttp.ClientError, OSError):
                # e.g. a reset keep-alive connection: one failed call, not a lost run.
                status, took = 0, 0.0
            k += REST_CONCURRENCY
            if status in (200, 201):
                latencies.append(took)
            else:
                errors += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(w) for w in range(REST_CONCURRENCY)))
    return {"rps": len(latencies) / (time.monotonic() - started), "p50_ms": pct(latencies, 0.5),
            "p99_ms": pct(latencies, 0.99), "errors": errors}


async def run(env: Env, cfg: dict, log) -> tuple[list[tuple[str, str, str]], dict]:
    """Returns extra table rows (figure, ours, note) and the figures the goals read."""
    users = cfg["e2e_users"]
    config = Config(jwt_secret=env.secret)
    seed(env.base["DATABASE_URL"], users)
    rows: list[tuple[str, str, str]] = []
    async with Target(env, "ours", 1) as gateway, Api(env, config) as api:
        async with LoadClient(env, gateway.ports) as client:
            conn = await client.call(cmd="connect", first=1, count=users, concurrency=200)
            log(f"e2e: {conn['connected']} students connected")
            warm, *_ = await paced_sends(api, users, 20, 1, 10**8)  # warm-up: workers, pools
            # Only what was answered 201 can arrive (MariaDB's 1467 once failed concurrent first sends).
            await client.call(cmd="wait", expect=warm, timeout=10)
            n = 0
            for rate in cfg["e2e_rates"]:
                await client.call(cmd="reset")
                ok, failed, achieved, http = await paced_sends(api, users, rate, cfg["e2e_secs"], n)
                n += int(rate * cfg["e2e_secs"])
                got = await client.call(cmd="wait", expect=ok, timeout=15)
                log(f"e2e {rate}/s: sent {achieved:.0f}/s, {ok} ok, {failed} failed; {got}")
                rows.append((f"E2E POST -> socket at {rate}/s ({users} users): p50 / p95 / p99 / max ms",
                             f"{got['p50']} / {got['p95']} / {got['p99']} / {got['max']}",
                             f"lost {got['lost']}, HTTP failures {failed}, offered {achieved:.0f}/s; "
                             f"POST response p50 {pct(http, 0.5) or 0:.0f} / p99 {pct(http, 0.99) or 0:.0f} ms"))
            await client.call(cmd="close")
        send = await closed_loop(lambda k: api.send(1 + k % users, 1 + k % users, "load"), cfg["rest_secs"])
        listing = await closed_loop(lambda k: api.list_conversations(HEAVY_MENTOR), cfg["rest_secs"])
    log(f"rest send {send}; list {listing}")
    for name, fig in (("send-message", send), ("list-conversations (200 conversations)", listing)):
        rows.append((f"REST {name}: requests/s, p99 ms ({REST_CONCURRENCY} concurrent)",
                     f"{fig['rps']:.0f}/s, p99 {fig['p99_ms']:.1f}", f"errors {fig['errors']}"))
    return rows, {"send_rps": send["rps"], "list_rps": listing["rps"]}
