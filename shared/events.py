"""Event envelopes, the transactional outbox, and the signed Redis channel.

A change and its events are written in one transaction (`record_event` adds
rows to `events`); after commit the envelopes are published on Redis as
channel v2: `{"v": 2, "ts": <unix seconds>, "data": "<JSON array of
envelopes>", "sig": "<hex HMAC-SHA256 of '<ts>.<data>'>"}`. The signature
covers the exact bytes sent, so any publisher (PHP, say) signs what it sends
and nobody has to canonicalise JSON; the timestamp lets a receiver refuse a
captured message replayed later. The log stays the source of truth: Redis
only makes delivery fast.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import threading
import time
from typing import Any, Iterable, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

from shared.db import insert_rows
from shared.models import Event
from shared.timeutil import isoformat_z, utcnow

log = logging.getLogger(__name__)
OUTBOX_KEY = "outbox"
DEFERRED_KEY = "outbox_deferred"  # event rows recorded with flush=False, not in the session yet
PENDING_KEY = "outbox_pending"  # event rows in the session, enveloped by the next flush
CHANNEL_VERSION = 2


class BadSignature(ValueError):
    """A channel message was unsigned, forged or malformed."""

    reason = "bad_signature"


class StaleMessage(BadSignature):
    """A validly signed message older than the age limit (or than the subscription)."""

    reason = "stale"


class ReplayedMessage(BadSignature):
    """A validly signed message seen before."""

    reason = "replayed"


class RefusedVersion(BadSignature):
    """A v1 message while v1 is not accepted."""

    reason = "version"


def dumps(value: Any) -> str:
    # Compact and UTF-8 as-is: these strings travel to every socket.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def envelope(event: Event) -> dict:
    """The wire form of one logged event (`request_id` only when known)."""
    return _envelope(event.id, event.type, event.room, event.seq, event.created_at, json.loads(event.data),
                     event.request_id)


def _envelope(event_id: int, type_: str, room: str, seq: int | None, created_at: dt.datetime, data: Any,
              request_id: str | None) -> dict:
    env = {"id": event_id, "type": type_, "room": room, "seq": seq, "ts": isoformat_z(created_at), "data": data}
    if request_id:
        env["request_id"] = request_id
    return env


def record_event(
    session: Session,
    room: str,
    type_: str,
    data: dict,
    seq: int | None = None,
    request_id: str | None = None,
    flush: bool = True,
    message_id: int | None = None,
) -> dict | None:
    """Add an event row to the current transaction; published after commit.

    Returns its envelope. With `flush=False` the row joins the session only
    at the next `record_event` that flushes or at commit, so the events of a
    transaction can share one INSERT; its envelope is made then and None is
    returned. Either way envelopes keep the order the events were recorded in.
    `message_id` names the message whose text `data` copies (rewritten on edit and delete).
    """
    row = {"room": room, "type": type_, "data": dumps(data), "seq": seq, "request_id": request_id,
           "message_id": message_id}
    session.info.setdefault(DEFERRED_KEY, []).append((row, data))
    if not flush:
        return None
    _add_deferred(session)
    session.flush()
    return session.info[OUTBOX_KEY][-1]


def _add_deferred(session: Session) -> None:
    deferred = session.info.pop(DEFERRED_KEY, None)
    if deferred:
        rows = [Event(**row) for row, _ in deferred]
        session.add_all(rows)
        session.info.setdefault(PENDING_KEY, []).extend(rows)


@event.listens_for(Session, "before_commit")
def _insert_deferred_before_commit(session: Session) -> None:
    """The events still waiting at commit, in one plain INSERT (ids returned
    where the database can), enveloped from the values in hand: the ORM's
    flush of new rows, and decoding `data` back, cost more than the statement
    on the send path."""
    deferred = session.info.pop(DEFERRED_KEY, None)
    if not deferred:
        return
    session.flush()  # rows recorded with flush=True before these keep their place in the log
    now = utcnow()
    rows = [{**row, "created_at": now} for row, _ in deferred]
    ids = insert_rows(session.connection(), Event.__table__, rows)
    outbox = session.info.setdefault(OUTBOX_KEY, [])
    for event_id, row, (_, data) in zip(ids, rows, deferred, strict=True):
        outbox.append(_envelope(event_id, row["type"], row["room"], row["seq"], now, data, row["request_id"]))


@event.listens_for(Session, "after_flush_postexec")
def _envelopes_after_flush(session: Session, flush_context: Any) -> None:
    rows = session.info.pop(PENDING_KEY, None)
    if rows:
        session.info.setdefault(OUTBOX_KEY, []).extend(envelope(row) for row in rows)


def take_outbox(session: Session) -> list[dict]:
    """Envelopes recorded in the transaction that just ended (and forget them)."""
    session.info.pop(DEFERRED_KEY, None)
    session.info.pop(PENDING_KEY, None)
    return session.info.pop(OUTBOX_KEY, [])


def sign(data: str, secret: str) -> str:
    return hmac.new(secret.encode(), data.encode(), hashlib.sha256).hexdigest()


def encode_channel_message(envelopes: Iterable[dict], secret: str, ts: int | None = None) -> str:
    """A channel v2 message: the signature covers `<ts>.<data>`."""
    data = dumps(list(envelopes))
    ts = int(time.time()) if ts is None else ts
    return dumps({"v": CHANNEL_VERSION, "ts": ts, "data": data, "sig": sign(f"{ts}.{data}", secret)})


def _envelopes(data: str) -> list[dict]:
    try:
        envelopes = json.loads(data)
    except ValueError:
        raise BadSignature("data is not JSON") from None
    if not isinstance(envelopes, list) or not all(isinstance(e, dict) for e in envelopes):
        raise BadSignature("data is not a list of envelopes")
    return envelopes


class ChannelVerifier:
    """Verifies channel messages: signature, age, and each exact message once.

    `not_before` is when the receiver subscribed: pub/sub delivers nothing
    published before that, so an older timestamp is a replay even when the
    receiver's memory of seen messages is new (a restarted gateway). Seen
    signatures are kept for `max_age` seconds, after which age refuses them.
    """

    def __init__(self, secret: str, max_age: float = 60, accept_v1: bool = False, skew: float = 5):
        self.secret, self.max_age, self.accept_v1, self.skew = secret, max_age, accept_v1, skew
        self.not_before = 0.0
        # ts -> the first 64 bits of each signature seen with it: small ints
        # rather than 64-char strings, as a busy channel sees ~max_age x rate.
        self._seen: dict[int, set[int]] = {}

    def subscribed(self, at: float | None = None) -> None:
        """Called when a subscription starts: older messages cannot be live."""
        self.not_before = (time.time() if at is None else at) - self.skew

    def verify(self, raw: bytes | str, now: float | None = None) -> list[dict]:
        """The envelopes of one message; raise a BadSignature subclass if refused."""
        try:
            message = json.loads(raw)
            data, sig, version = message["data"], message["sig"], message.get("v")
        except (ValueError, TypeError, KeyError):
            raise BadSignature("not a channel message") from None
        if not isinstance(data, str) or not isinstance(sig, str):
            raise BadSignature("unsupported channel message")
        if version == 1:
            if not self.accept_v1:
                raise RefusedVersion("channel v1 is refused (EVENTS_ACCEPT_V1=1 accepts it)")
            if not hmac.compare_digest(sign(data, self.secret), sig):
                raise BadSignature("bad signature")
            return _envelopes(data)
        ts = message.get("ts")
        if version != CHANNEL_VERSION or isinstance(ts, bool) or not isinstance(ts, int):
            raise BadSignature("unsupported channel message")
        if not hmac.compare_digest(sign(f"{ts}.{data}", self.secret), sig):
            raise BadSignature("bad signature")
        now = time.time() if now is None else now
        if ts < now - self.max_age or ts < self.not_before or ts > now + self.skew:
            raise StaleMessage(f"message timestamp {ts} is outside the accepted window")
        bucket = self._seen.get(ts)
        if bucket is None:
            self._forget_before(now - self.max_age - self.skew)
            bucket = self._seen[ts] = set()
        key = int(sig[:16], 16)
        if key in bucket:
            raise ReplayedMessage("message seen before")
        bucket.add(key)
        return _envelopes(data)

    def _forget_before(self, cutoff: float) -> None:
        for ts in [ts for ts in self._seen if ts < cutoff]:
            del self._seen[ts]


class Publisher(Protocol):
    def publish(self, envelopes: list[dict]) -> None: ...


class NullPublisher:
    """No Redis: the gateway polls the event log instead."""

    def publish(self, envelopes: list[dict]) -> None:
        return None


class RedisPublisher:
    """Publishes committed envelopes on the signed channel.

    A failed publish is logged, not raised: the change is committed and the
    events are in the log, where gateways catch up from.
    """

    def __init__(self, redis_url: str, channel: str, secret: str):
        import redis

        self.client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.channel = channel
        self.secret = secret

    def publish(self, envelopes: list[dict]) -> None:
        if not envelopes:
            return
        try:
            self.client.publish(self.channel, encode_channel_message(envelopes, self.secret))
        except Exception:  # noqa: BLE001 - any Redis failure leaves the log to do its job
            log.warning("event publish to Redis failed; gateways will catch up from the log", exc_info=True)


def room_channel(events_channel: str, room: str) -> str:
    """A room's sharded channel on Redis Cluster. The room is the hash tag, so
    the room's ephemeral sibling (`ephemeral_room_channel`) lives in the same
    slot, and each room's channel lands on one node of the cluster."""
    return f"{events_channel}:room:{{{room}}}"


def ephemeral_room_channel(events_channel: str, room: str) -> str:
    """Where typing and presence for a room go between gateways (never logged)."""
    return room_channel(events_channel, room) + ":ephemeral"


def by_room(envelopes: Iterable[dict]) -> dict[str, list[dict]]:
    """A commit's envelopes grouped by room, each group in commit order."""
    groups: dict[str, list[dict]] = {}
    for env in envelopes:
        groups.setdefault(env["room"], []).append(env)
    return groups


def cluster_client(nodes: list[tuple[str, int]]) -> Any:
    """A redis-py RedisCluster client for these startup nodes (it learns the rest)."""
    from redis.cluster import ClusterNode, RedisCluster

    return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in nodes],
                        socket_timeout=2, socket_connect_timeout=1)


class ShardedPublisher:
    """Publishes committed envelopes with SPUBLISH, one signed message per
    room per commit on that room's channel, so a gateway only receives the
    rooms it holds sockets in. Failures are logged, as for `RedisPublisher`:
    the log covers."""

    def __init__(self, nodes: list[tuple[str, int]], channel: str, secret: str):
        self.nodes, self.channel, self.secret = nodes, channel, secret
        self._client = None
        # The client is made on first use (it connects as it is made), once
        # for all request threads.
        self._lock = threading.Lock()

    def _cluster(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = cluster_client(self.nodes)
            return self._client

    def publish(self, envelopes: list[dict]) -> None:
        if not envelopes:
            return
        try:
            client = self._cluster()
            for room, group in by_room(envelopes).items():
                client.spublish(room_channel(self.channel, room), encode_channel_message(group, self.secret))
        except Exception:  # noqa: BLE001 - any Redis failure leaves the log to do its job
            log.warning("sharded event publish failed; gateways will catch up from the log", exc_info=True)


def make_publisher(redis_url: str | None, channel: str, secret: str,
                   cluster_nodes: list[tuple[str, int]] | None = None) -> Publisher:
    if cluster_nodes:
        return ShardedPublisher(cluster_nodes, channel, secret)
    if not redis_url:
        return NullPublisher()
    return RedisPublisher(redis_url, channel, secret)
