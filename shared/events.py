"""Event envelopes, the transactional outbox, and the signed Redis channel.

A change and its events are written in one transaction (`record_event` adds
rows to `events`); after commit the envelopes are published on Redis as
`{"v": 1, "data": "<JSON array of envelopes>", "sig": "<hex HMAC-SHA256>"}`.
The signature covers the exact `data` string, so any publisher (PHP, say)
signs the bytes it sends and nobody has to canonicalise JSON. The log stays
the source of truth: Redis only makes delivery fast.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any, Iterable, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

from shared.models import Event
from shared.timeutil import isoformat_z

log = logging.getLogger(__name__)
OUTBOX_KEY = "outbox"
DEFERRED_KEY = "outbox_deferred"  # event rows recorded with flush=False, not in the session yet
PENDING_KEY = "outbox_pending"  # event rows in the session, enveloped by the next flush
CHANNEL_VERSION = 1


class BadSignature(ValueError):
    """A channel message was unsigned, forged or malformed."""


def dumps(value: Any) -> str:
    # Compact and UTF-8 as-is: these strings travel to every socket.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def envelope(event: Event) -> dict:
    """The wire form of one logged event (`request_id` only when known)."""
    env = {
        "id": event.id,
        "type": event.type,
        "room": event.room,
        "seq": event.seq,
        "ts": isoformat_z(event.created_at),
        "data": json.loads(event.data),
    }
    if event.request_id:
        env["request_id"] = event.request_id
    return env


def record_event(
    session: Session,
    room: str,
    type_: str,
    data: dict,
    seq: int | None = None,
    request_id: str | None = None,
    flush: bool = True,
) -> dict | None:
    """Add an event row to the current transaction; published after commit.

    Returns its envelope. With `flush=False` the row joins the session only
    at the next `record_event` that flushes or at commit, so the events of a
    transaction can share one INSERT; its envelope is made then and None is
    returned. Either way envelopes keep the order the events were recorded in.
    """
    row = Event(room=room, type=type_, data=dumps(data), seq=seq, request_id=request_id)
    session.info.setdefault(DEFERRED_KEY, []).append(row)
    if not flush:
        return None
    _add_deferred(session)
    session.flush()
    return session.info[OUTBOX_KEY][-1]


def _add_deferred(session: Session) -> None:
    rows = session.info.pop(DEFERRED_KEY, None)
    if rows:
        session.add_all(rows)
        session.info.setdefault(PENDING_KEY, []).extend(rows)


@event.listens_for(Session, "before_commit")
def _add_deferred_before_commit(session: Session) -> None:
    _add_deferred(session)


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


def encode_channel_message(envelopes: Iterable[dict], secret: str) -> str:
    data = dumps(list(envelopes))
    return dumps({"v": CHANNEL_VERSION, "data": data, "sig": sign(data, secret)})


def decode_channel_message(raw: bytes | str, secret: str) -> list[dict]:
    """Verify and decode one channel message; raise BadSignature if it fails."""
    try:
        message = json.loads(raw)
        data, sig = message["data"], message["sig"]
    except (ValueError, TypeError, KeyError):
        raise BadSignature("not a channel message") from None
    if message.get("v") != CHANNEL_VERSION or not isinstance(data, str) or not isinstance(sig, str):
        raise BadSignature("unsupported channel message")
    if not hmac.compare_digest(sign(data, secret), sig):
        raise BadSignature("bad signature")
    try:
        envelopes = json.loads(data)
    except ValueError:
        raise BadSignature("data is not JSON") from None
    if not isinstance(envelopes, list) or not all(isinstance(e, dict) for e in envelopes):
        raise BadSignature("data is not a list of envelopes")
    return envelopes


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


def make_publisher(redis_url: str | None, channel: str, secret: str) -> Publisher:
    if not redis_url:
        return NullPublisher()
    return RedisPublisher(redis_url, channel, secret)
