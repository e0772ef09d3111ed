"""Web Push end to end with real crypto: notifications the API commits, planned
and sent as the worker does (worker/push.py), reaching a push service on
loopback that checks the VAPID signature and decrypts what arrived."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
import redis
from sqlalchemy import select, update

from api.extensions import db
from shared import vapid
from shared.events import envelope
from shared.models import Event, Participant, PushSubscription
from shared.presence_lookup import PresenceLookup
from shared.timeutil import utcnow
from tests.away.conftest import SUBJECT
from tests.away.servers import BrowserKeys
from worker import push

API = "/api/v1"
STUDENT, MENTOR, ADMIN = ("student", 2), ("mentor", 1), ("admin", 9)
NO_REDIS = PresenceLookup(None, "rt:test")


@pytest.fixture
def world(client, auth, config, push_service):
    """A group of the mentor and the student; the student's browser subscribed on the loopback push service."""
    config.outbound_allow_private = True
    people = [{"role": r, "id": i} for r, i in (STUDENT, MENTOR)]
    body = {"type": "group", "title": "study group", "participants": people}
    conversation = client.post(API + "/conversations", json=body, headers=auth(*ADMIN)).get_json()["id"]
    device = uuid.uuid4().hex
    keys = BrowserKeys()
    subscribed = client.post(API + "/push/subscriptions", json=keys.subscription(push_service.endpoint(device, keys)),
                             headers=auth(*STUDENT))
    assert subscribed.status_code == 201
    return {"conversation": conversation, "device": device, "subscription": subscribed.get_json()["id"]}


def send(client, auth, conversation: int, text: str, who=MENTOR) -> None:
    r = client.post(f"{API}/conversations/{conversation}/messages", json={"body": text}, headers=auth(*who))
    assert r.status_code == 201, r.get_json()


def logged_events(app) -> list[dict]:
    with app.app_context():
        return [envelope(e) for e in db.session.execute(select(Event).order_by(Event.id)).scalars()]


def deliver(app, config, events, presence=NO_REDIS) -> list[push.PushResult]:
    """What the worker does with a batch: plan, then send each planned push."""
    key = vapid.load(config.vapid_private_key_file)
    with app.app_context():
        planned = push.plan_pushes(db.session, events, presence, utcnow())
        results = [push.push_to(db.session, p.subscription, p.payload, key, config) for p in planned]
        db.session.commit()
    return results


def test_a_message_reaches_an_offline_student_signed_and_encrypted(app, client, auth, config, push_service, world):
    send(client, auth, world["conversation"], "Shall we meet on Tuesday?")
    results = deliver(app, config, logged_events(app))
    assert [r.status for r in results] == [201] and results[0].sent
    [arrived] = push_service.of(world["device"])
    assert arrived.problem is None
    assert arrived.payload == {
        "id": arrived.payload["id"], "type": "message", "tag": f"conversation:{world['conversation']}",
        "title": "New message from mentor 1", "body": "Shall we meet on Tuesday?", "count": 1,
        "url": f"/conversations/{world['conversation']}",
    }
    assert arrived.vapid_key == client.get(API + "/push/vapid-public-key").get_json()["public_key"]
    assert arrived.claims["aud"] == push_service.origin and arrived.claims["sub"] == SUBJECT
    assert int(arrived.headers["TTL"]) > 0 and len(arrived.headers["Topic"]) <= 32


def test_a_burst_of_fifty_messages_is_one_push(app, client, auth, config, push_service, world):
    for n in range(50):
        send(client, auth, world["conversation"], f"line {n}")
    events = logged_events(app)
    assert len([e for e in events if e["type"].startswith("notification:") and e["room"] == "student:2"]) == 50
    deliver(app, config, events)
    [arrived] = push_service.of(world["device"])
    assert arrived.payload["count"] == 50 and arrived.payload["body"] == "line 49"


def test_a_mention_in_a_muted_conversation_carries_no_text(app, client, auth, config, push_service, world):
    with app.app_context():
        db.session.execute(update(Participant).where(Participant.role == "student")
                           .values(muted_until=utcnow() + dt.timedelta(hours=1)))
        db.session.commit()
    send(client, auth, world["conversation"], "@student:2 the secret plan is attached")
    deliver(app, config, logged_events(app))
    [arrived] = push_service.of(world["device"])
    assert arrived.payload["type"] == "mention" and arrived.payload["body"] is None
    assert "secret" not in str(arrived.payload)
    with app.app_context():  # a retry of that delivery builds the same payload
        events = logged_events(app)
        [mention] = [e for e in events if e["room"] == "student:2" and e["type"] in push.NOTIFICATION_EVENTS]
        subscription = db.session.get(PushSubscription, world["subscription"])
        assert push.payload_for(db.session, mention, subscription, utcnow()) == arrived.payload


def test_a_device_without_previews_gets_no_text(app, client, auth, config, push_service, world):
    keys = BrowserKeys()
    body = {**keys.subscription(push_service.endpoint(world["device"] + "-quiet", keys)), "previews": False}
    assert client.post(API + "/push/subscriptions", json=body, headers=auth(*STUDENT)).status_code == 201
    send(client, auth, world["conversation"], "private words")
    deliver(app, config, logged_events(app))
    assert push_service.of(world["device"])[0].payload["body"] == "private words"
    assert push_service.of(world["device"] + "-quiet")[0].payload["body"] is None


def test_preferences_hold_pushes_back(app, client, auth, config, push_service, world):
    prefs = {"types": {"message": True}, "push": False}
    assert client.put(API + "/notifications/preferences", json=prefs, headers=auth(*STUDENT)).status_code == 200
    send(client, auth, world["conversation"], "not pushed")
    assert deliver(app, config, logged_events(app)) == []
    assert push_service.of(world["device"]) == []


@pytest.mark.parametrize("answers, gone", [([404], True), ([410], True)])
def test_a_subscription_the_push_service_forgot_is_deleted(app, client, auth, config, push_service, world,
                                                           answers, gone):
    push_service.answer[world["device"]] = answers
    send(client, auth, world["conversation"], "anyone there?")
    [result] = deliver(app, config, logged_events(app))
    assert result.gone is gone and result.retry_after is None
    listed = client.get(API + "/push/subscriptions", headers=auth(*STUDENT)).get_json()["subscriptions"]
    assert listed == []


@pytest.mark.parametrize("status, retry_after", [(429, 7.0), (500, push.backoff(0)), (503, push.backoff(0))])
def test_throttling_and_server_errors_are_retried_and_keep_the_subscription(app, client, auth, config, push_service,
                                                                           world, status, retry_after):
    push_service.answer[world["device"]] = [status, 201]
    send(client, auth, world["conversation"], "retry me")
    events = logged_events(app)
    [first] = deliver(app, config, events)
    assert (first.status, first.gone, first.retry_after) == (status, False, retry_after)
    [second] = deliver(app, config, events)  # the retry
    assert second.sent
    assert [r.status for r in push_service.of(world["device"])] == [status, 201]
    assert push_service.of(world["device"])[1].payload["body"] == "retry me"


def test_a_refusal_for_good_is_not_retried(app, client, auth, config, push_service, world):
    push_service.answer[world["device"]] = [413]
    send(client, auth, world["conversation"], "x")
    [result] = deliver(app, config, logged_events(app))
    assert (result.status, result.gone, result.retry_after) == (413, False, None)


def test_backoff_doubles_up_to_an_hour():
    assert [push.backoff(n) for n in (0, 1, 2, 10)] == [30.0, 60.0, 120.0, 3600.0]


def test_an_unreachable_push_service_is_retried(app, config, closed_port):
    key = vapid.load(config.vapid_private_key_file)
    keys = BrowserKeys()
    row = PushSubscription(endpoint=f"http://127.0.0.1:{closed_port}/push/x", p256dh=keys.p256dh, auth="a" * 22)
    result = push.send_push(row, {"tag": "t"}, key, SUBJECT, allow_private=True, attempts=2)
    assert result.status is None and result.retry_after == push.backoff(2) and not result.gone


def test_a_private_endpoint_is_never_called_unless_allowed(app, client, auth, config, push_service, world):
    config.outbound_allow_private = False  # e.g. subscribed while allowed, or a name now pointing inside
    send(client, auth, world["conversation"], "internal")
    [result] = deliver(app, config, logged_events(app))
    assert result.status is None and result.retry_after is None and "refused" in result.error
    assert push_service.of(world["device"]) == []


def test_presence_decides_who_is_away(app, client, auth, config, push_service, world):
    """A live socket on any gateway (the key gateway/presence.py keeps in Redis) means no push."""
    r = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    channel = f"rt:test:push:{world['device'][:20]}"
    key = f"{channel}:presence:student:2"
    try:
        r.zadd(key, {"gateway-a": utcnow().timestamp() + 3600})
        send(client, auth, world["conversation"], "you are here")
        assert deliver(app, config, logged_events(app), PresenceLookup(r, channel)) == []
        r.delete(key)
        assert [x.status for x in deliver(app, config, logged_events(app), PresenceLookup(r, channel))] == [201]
    finally:
        r.delete(key)
        r.close()


NOON = dt.datetime(2026, 6, 1, 12, 0)
DEFAULT = {"types": {}, "push": True, "quiet_hours": None}


@pytest.mark.parametrize("type_, prefs, online, expected", [
    ("message", DEFAULT, None, True),  # presence unknown: push anyway
    ("message", DEFAULT, False, True),
    ("message", DEFAULT, True, False),
    ("message", {**DEFAULT, "push": False}, False, False),
    ("message", {**DEFAULT, "types": {"message": False}}, False, False),
    ("session_reminder", {**DEFAULT, "types": {"session": False}}, False, False),
    ("session_reminder", {**DEFAULT, "types": {"message": False}}, False, True),
    ("something_new", {**DEFAULT, "types": {"message": False}}, False, True),
    ("message", {**DEFAULT, "quiet_hours": {"start": "11:00", "end": "13:00", "timezone": "UTC"}}, False, False),
    ("message", {**DEFAULT, "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "UTC"}}, False, True),
    ("message", {**DEFAULT, "quiet_hours": {"start": "13:30", "end": "15:00", "timezone": "Europe/Paris"}}, False,
     False),
])
def test_should_push(type_, prefs, online, expected):
    assert push.should_push(None, type_, prefs, NOON, online) is expected


def test_collapse_keeps_the_latest_per_recipient_and_conversation():
    def event(id_, room, conversation, count):
        return {"id": id_, "room": room, "type": "notification:updated",
                "data": {"id": 1, "type": "message", "count": count, "data": {"conversation_id": conversation}}}

    events = [event(1, "student:2", 5, 1), event(2, "student:3", 5, 1), event(3, "student:2", 5, 2),
              event(4, "student:2", 6, 1), event(5, "student:2", 5, 3)]
    assert [e["id"] for e in push.collapse(events)] == [2, 4, 5]


def test_a_payload_stays_small():
    long = {"id": 1, "type": "broadcast", "title": "t" * 500, "body": "b" * 5000, "count": 1, "link": "/x", "data": {}}
    payload = push.push_payload(long, muted=False)
    assert len(payload["title"]) == 100 and len(payload["body"]) == 140 and payload["tag"] == "notification:1"
