"""What the database allows a send: the send path's own SQL through bare PyMySQL.

The statements are not written out here; they are captured from the code,
so the probe follows the send path as it changes. Capture: seed direct
conversations whose ids, members, participant rows and `last_seq` are
values nothing else in the database can equal (from 71,000,000 up; see
`Ids`), send one message through the app (`create_app` and its test client,
the bench's database) and record every statement with its parameters
(SQLAlchemy's `before_cursor_execute`; COMMIT and the pool's ping are not
statements). Replay: the same statement texts, one transaction per send,
each in another of the probe's conversations, with every seeded value
mapped to that conversation's counterpart (as a parameter, or as digits
inside a string parameter such as a room name or a JSON payload), the
message id to what this transaction's message INSERT returned, and the seq
to the conversation's next. A value from the seeded ranges that the probe
cannot map stops it, so a changed send path is never replayed wrong
silently; values it did not seed (timestamps, bodies) are sent as captured.
Before measuring, `check` replays one send and compares what it left in its
conversation (rows, seqs, events, notification, marker) with what the app's
send left in the captured one.

Levels: 1 connection, then 8, each a process of its own (threads would
measure the GIL, not the database), over disjoint conversations as the
bench's 8 concurrent REST callers are; all processes start together and
run for `--secs`. Prints one JSON line: statements per send and
transactions/s per level.

`python -m bench.db_ceiling --secs 5 --connections 1,8` (DATABASE_URL: a
migrated MySQL database, as `bench/run` makes).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import re
import time
from dataclasses import dataclass, field

import pymysql
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from shared.auth import Principal, mint_token
from shared.config import Config
from shared.db import make_engine
from shared.models import Conversation, Message, Participant, Relationship
from shared.rooms import conversation as conversation_room
from shared.rooms import personal
from shared.timeutil import utcnow

BASE = 71_000_000
SPAN = 1_000_000  # each range below is this wide
CONVERSATIONS = 8 * 64  # 64 per process at 8 connections; plus the captured one (0) and `check`'s (last)
DIGITS = re.compile(r"\d{8,}")


@dataclass(frozen=True)
class Ids:
    """The seeded values of probe conversation k (k = 0 is the captured one)."""
    k: int

    @property
    def conversation(self) -> int:
        return BASE + self.k

    @property
    def mentor(self) -> int:
        return BASE + SPAN + self.k

    @property
    def student(self) -> int:
        return BASE + 2 * SPAN + self.k

    @property
    def mentor_row(self) -> int:  # participant ids
        return BASE + 4 * SPAN + 2 * self.k

    @property
    def student_row(self) -> int:
        return BASE + 4 * SPAN + 2 * self.k + 1

    def values(self) -> tuple[int, ...]:
        return self.conversation, self.mentor, self.student, self.mentor_row, self.student_row


SEQ_BASE = BASE + 3 * SPAN  # every probe conversation starts at this last_seq
MESSAGE_BASE = BASE + 5 * SPAN  # a seeded message's id, so message ids come after it


def seed(engine) -> None:
    now = utcnow()
    with Session(engine) as session:
        if session.get(Conversation, Ids(0).conversation) is not None:
            raise SystemExit("bench.db_ceiling: run it on a fresh database (bench/run makes one)")
        for k in range(CONVERSATIONS + 2):
            ids = Ids(k)
            session.add(Conversation(id=ids.conversation, type="direct", last_seq=SEQ_BASE, last_activity_at=now,
                                     direct_key=f"mentor:{ids.mentor}|student:{ids.student}", created_at=now))
            session.add(Participant(id=ids.mentor_row, conversation_id=ids.conversation, role="mentor",
                                    principal_id=ids.mentor, joined_at=now))
            session.add(Participant(id=ids.student_row, conversation_id=ids.conversation, role="student",
                                    principal_id=ids.student, joined_at=now))
            session.add(Relationship(mentor_id=ids.mentor, student_id=ids.student, status="active",
                                     requested_by="student", created_at=now, updated_at=now, responded_at=now))
        session.flush()
        session.add(Message(id=MESSAGE_BASE, conversation_id=Ids(0).conversation, sender_role="student",
                            sender_id=Ids(0).student, body="seed", reply_count=0, created_at=now))
        session.commit()


@dataclass
class Captured:
    statement: str
    parameters: object
    executemany: bool
    lastrowid: int | None = None

    @property
    def many(self) -> bool:
        # SQLAlchemy's "insertmanyvalues" flags its one batched execute() as executemany.
        return self.executemany and isinstance(self.parameters, list)


@dataclass
class Capture:
    statements: list[Captured] = field(default_factory=list)
    message_id: int = 0


def capture(config: Config) -> Capture:
    """Send one message in probe conversation 0 through the app; keep its SQL."""
    from api.app import create_app
    from api.extensions import db

    app = create_app(config)
    got = Capture()

    def before(conn, cursor, statement, parameters, context, executemany):
        got.statements.append(Captured(statement, parameters, executemany))

    def after(conn, cursor, statement, parameters, context, executemany):
        got.statements[-1].lastrowid = cursor.lastrowid

    token = mint_token(config, "mentor", Ids(0).mentor, ttl=600)
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
        try:
            resp = app.test_client().post(f"/api/v1/conversations/{Ids(0).conversation}/messages",
                                          json={"body": "probe"}, headers={"Authorization": f"Bearer {token}"})
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
            event.remove(db.engine, "after_cursor_execute", after)
        db.engine.dispose()  # no pooled connection crosses the fork
    if resp.status_code != 201:
        raise SystemExit(f"bench.db_ceiling: the captured send answered {resp.status_code}: {resp.get_data()[:300]!r}")
    got.message_id = resp.get_json()["id"]
    return got


class Replay:
    """The captured send, re-aimed at probe conversation k on a PyMySQL connection."""

    def __init__(self, cap: Capture, conn: pymysql.connections.Connection):
        self.cap, self.conn = cap, conn
        self.seq_step = max((v - SEQ_BASE for v in self._ints(cap)
                             if SEQ_BASE <= v < SEQ_BASE + SPAN), default=0)
        self.last_seq: dict[int, int] = {}

    def load_seqs(self, ks: list[int]) -> None:
        """Where each conversation's seq stands (an earlier level or check moved it)."""
        by_id = {Ids(k).conversation: k for k in ks}
        with self.conn.cursor() as cursor:
            cursor.execute("SELECT id, last_seq FROM conversations WHERE id IN %s", (list(by_id),))
            self.last_seq = {by_id[cid]: seq for cid, seq in cursor.fetchall()}
        self.conn.commit()

    @staticmethod
    def _ints(cap: Capture):
        for st in cap.statements:
            for params in st.parameters if st.many else [st.parameters]:
                values = params.values() if isinstance(params, dict) else params
                yield from (v for v in values if isinstance(v, int) and not isinstance(v, bool))

    def send(self, k: int) -> None:
        # The message id joins the mapping once this transaction's INSERT made it.
        mapping = dict(zip(Ids(0).values(), Ids(k).values(), strict=True))
        seq = self.last_seq[k]

        def mapped(v: int, strict: bool) -> int:
            if v in mapping:
                return mapping[v]
            if SEQ_BASE <= v < SEQ_BASE + SPAN:
                return seq + (v - SEQ_BASE)
            if strict and v >= BASE:
                raise SystemExit(f"bench.db_ceiling: the send path used {v}, which the probe cannot map")
            return v

        def value(v):
            if isinstance(v, str):
                return DIGITS.sub(lambda m: str(mapped(int(m.group()), strict=False)), v)
            return mapped(v, strict=True) if isinstance(v, int) and not isinstance(v, bool) else v

        def fresh(params):
            if isinstance(params, dict):
                return {name: value(v) for name, v in params.items()}
            return [value(v) for v in params]

        with self.conn.cursor() as cursor:
            for st in self.cap.statements:
                if st.many:
                    cursor.executemany(st.statement, [fresh(p) for p in st.parameters])
                else:
                    cursor.execute(st.statement, fresh(st.parameters))
                if st.lastrowid == self.cap.message_id:
                    mapping[self.cap.message_id] = cursor.lastrowid
        self.conn.commit()
        self.last_seq[k] = seq + self.seq_step


def footprint(conn: pymysql.connections.Connection, k: int) -> list:
    """What one send left in probe conversation k, in terms that do not depend on k."""
    ids = Ids(k)
    rooms = [conversation_room(ids.conversation), personal(Principal("student", ids.student))]
    queries = [
        ("SELECT last_seq - %s, last_message_id = (SELECT MAX(id) FROM messages WHERE conversation_id = %s)"
         " FROM conversations WHERE id = %s", (SEQ_BASE, ids.conversation, ids.conversation)),
        ("SELECT COUNT(*), MAX(body) FROM messages WHERE conversation_id = %s AND sender_id = %s",
         (ids.conversation, ids.mentor)),
        ("SELECT room = %s, type, seq - %s, message_id = (SELECT MAX(id) FROM messages WHERE conversation_id = %s)"
         " FROM events WHERE room IN (%s, %s) ORDER BY id", (rooms[0], SEQ_BASE, ids.conversation, *rooms)),
        ("SELECT type, count, recipient_role FROM notifications WHERE conversation_id = %s", (ids.conversation,)),
        ("SELECT id - %s, last_read_message_id IS NOT NULL FROM participants WHERE conversation_id = %s ORDER BY id",
         (ids.mentor_row, ids.conversation)),
    ]
    with conn.cursor() as cursor:
        found = []
        for sql, args in queries:
            cursor.execute(sql, args)
            found.append(cursor.fetchall())
    conn.commit()
    return found


def check(cap: Capture, database_url: str) -> None:
    """One replayed send must leave in its conversation what the app's send left in its own."""
    conn = connect(database_url)
    replay, k = Replay(cap, conn), CONVERSATIONS + 1
    replay.load_seqs([k])
    replay.send(k)
    app, replayed = footprint(conn, 0), footprint(conn, k)
    conn.close()
    if app != replayed:
        raise SystemExit(f"bench.db_ceiling: the replay does not do what the send did:\n app    {app}\n"
                         f" replay {replayed}")


def connect(database_url: str) -> pymysql.connections.Connection:
    url = make_url(database_url)
    return pymysql.connect(host=url.host or "127.0.0.1", port=url.port or 3306, user=url.username or "root",
                           password=url.password or "", database=url.database,
                           charset=url.query.get("charset", "utf8mb4"), autocommit=False)


def worker(cap: Capture, database_url: str, mine: list[int], secs: float, barrier, results) -> None:
    conn = connect(database_url)
    replay = Replay(cap, conn)
    replay.load_seqs(mine)
    errors: dict[int, int] = {}

    def send(k: int) -> bool:
        try:
            replay.send(k)
            return True
        except pymysql.err.OperationalError as exc:  # a deadlock, lock wait or 1467: counted by code
            conn.rollback()
            errors[exc.args[0]] = errors.get(exc.args[0], 0) + 1
            return False

    for k in mine[:8]:  # warm-up: the statements' plans, the rows' pages
        send(k)
    barrier.wait()
    count = 0
    started = time.monotonic()
    deadline = started + secs
    while time.monotonic() < deadline:
        count += send(mine[count % len(mine)])  # a failed send is tried again
    results.put((count, time.monotonic() - started, errors))
    conn.close()


def level(cap: Capture, database_url: str, connections: int, secs: float) -> dict:
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(connections), ctx.Queue()
    pool = list(range(1, CONVERSATIONS + 1))
    procs = [ctx.Process(target=worker, args=(cap, database_url, pool[w::connections], secs, barrier, results))
             for w in range(connections)]
    for proc in procs:
        proc.start()
    got: list[tuple] = []
    deadline = time.monotonic() + secs + 60
    while len(got) < len(procs):
        try:
            got.append(results.get(timeout=0.5))
        except queue.Empty:
            if any(p.exitcode not in (None, 0) for p in procs) or time.monotonic() > deadline:
                for proc in procs:
                    proc.kill()
                raise SystemExit("bench.db_ceiling: a replay process failed (its traceback is above)") from None
    for proc in procs:
        proc.join(10)
    errors: dict[str, int] = {}
    for _, _, by_code in got:
        for code, n in by_code.items():
            errors[str(code)] = errors.get(str(code), 0) + n
    return {"connections": connections, "tx_per_s": round(sum(c / s for c, s, _ in got)),
            "errors_by_mysql_code": errors}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.db_ceiling")
    parser.add_argument("--secs", type=float, default=5.0)
    parser.add_argument("--connections", default="1,8", help="comma list of levels")
    args = parser.parse_args()
    os.environ.setdefault("SEND_RATE_LIMIT", "0")
    config = Config.from_env()
    engine = make_engine(config.database_url)
    seed(engine)
    engine.dispose()
    cap = capture(config)
    check(cap, config.database_url)
    levels = [level(cap, config.database_url, int(n), args.secs) for n in args.connections.split(",")]
    print(json.dumps({"statements": len(cap.statements), "levels": levels}))


if __name__ == "__main__":
    main()
