"""Email digests: who is due one (worker/digests.py), the email itself, its
unsubscribe link through the API, and sending it to real SMTP servers on
loopback - one that takes it, ones that refuse, one that hangs up mid-DATA."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import time
import uuid
from urllib.parse import urlsplit

import pytest
import redis
from sqlalchemy import select

from api.extensions import db
from shared.auth import Principal
from shared.models import EmailContact, Notification
from shared.presence_lookup import PresenceLookup
from shared.timeutil import utcnow
from worker import digests
from worker.mail import send_mail

API = "/api/v1"
STUDENT, MENTOR, ADMIN = ("student", 2), ("mentor", 1), ("admin", 9)
ADDRESS = "stu@example.org"
NO_REDIS = PresenceLookup(None, "rt:test")


@pytest.fixture
def world(client, auth, token):
    """A group of the mentor and the student; the student has been seen with an email claim."""
    people = [{"role": r, "id": i} for r, i in (STUDENT, MENTOR)]
    body = {"type": "group", "title": "study group", "participants": people}
    conversation = client.post(API + "/conversations", json=body, headers=auth(*ADMIN)).get_json()["id"]
    seen = client.get(API + "/me", headers={"Authorization": f"Bearer {token(*STUDENT, email=ADDRESS)}"})
    assert seen.status_code == 200
    return {"conversation": conversation}


def send(client, auth, conversation: int, text: str, who=MENTOR) -> None:
    r = client.post(f"{API}/conversations/{conversation}/messages", json={"body": text}, headers=auth(*who))
    assert r.status_code == 201, r.get_json()


def due(app, config, at: dt.datetime, presence=NO_REDIS) -> list[digests.Digest]:
    with app.app_context():
        return digests.due_digests(db.session, at, config, presence)


def later(minutes: float) -> dt.datetime:
    return utcnow() + dt.timedelta(minutes=minutes)


def contacts(app) -> dict:
    with app.app_context():
        return {(c.principal_role, c.principal_id): c.address for c in db.session.execute(select(EmailContact))
                .scalars()}


# --- where the address comes from ---

def test_the_address_is_remembered_from_the_token_claim(app, client, token):
    client.get(API + "/me", headers={"Authorization": f"Bearer {token('mentor', 3, email='m3@example.org')}"})
    assert contacts(app) == {("mentor", 3): "m3@example.org"}
    client.get(API + "/me", headers={"Authorization": f"Bearer {token('mentor', 3, email='new@example.org')}"})
    assert contacts(app) == {("mentor", 3): "new@example.org"}


@pytest.mark.parametrize("claim", ["not-an-address", "a@b", "x@example.org\r\nBcc: all@example.org",
                                   "<x@example.org>", "x" * 250 + "@example.org", 12, ["x@example.org"]])
def test_a_claim_that_is_not_an_address_is_never_used(app, client, token, claim):
    client.get(API + "/me", headers={"Authorization": f"Bearer {token('student', 4, email=claim)}"})
    assert contacts(app) == {}


def test_the_claim_name_is_configurable_and_off_means_none(app, client, token, config):
    config.email_address_source = "claim:mail"
    client.get(API + "/me", headers={"Authorization": f"Bearer {token('student', 5, email='a@example.org')}"})
    assert contacts(app) == {}
    client.get(API + "/me", headers={"Authorization": f"Bearer {token('student', 5, mail='b@example.org')}"})
    assert contacts(app) == {("student", 5): "b@example.org"}
    config.email_address_source = "off"
    client.get(API + "/me", headers={"Authorization": f"Bearer {token('student', 6, mail='c@example.org')}"})
    assert ("student", 6) not in contacts(app)


def test_a_service_token_leaves_no_address(app, client, token):
    client.get(API + "/me", headers={"Authorization": f"Bearer {token('service', 1, email='svc@example.org')}"})
    assert contacts(app) == {}


# --- who is due ---

def test_one_digest_for_many_messages_once_away_long_enough(app, client, auth, config, world):
    for n in range(3):
        send(client, auth, world["conversation"], f"message {n}")
    assert due(app, config, later(5)) == []  # not away long enough (DIGEST_AFTER_MINUTES=30)
    [digest] = due(app, config, later(31))
    assert digest.principal == Principal(*STUDENT) and digest.address == ADDRESS
    assert digest.unread == 1 and digest.items[0]["count"] == 3 and digest.items[0]["body"] == "message 2"


def test_the_wait_is_configurable(app, client, auth, config, world):
    config.digest_after_minutes = 1
    send(client, auth, world["conversation"], "hi")
    assert len(due(app, config, later(2))) == 1


def test_once_claimed_the_next_waits_for_the_cadence(app, client, auth, config, world):
    send(client, auth, world["conversation"], "first")
    [digest] = due(app, config, later(31))
    sent_at = utcnow()
    with app.app_context():
        assert digests.claim_digest(db.session, digest, sent_at) is True
        assert digests.claim_digest(db.session, digest, sent_at) is False  # a second worker loses
        db.session.commit()
    assert due(app, config, later(24 * 60 + 1)) == []  # nothing new since
    send(client, auth, world["conversation"], "second")
    assert due(app, config, later(120)) == []  # daily by default
    assert len(due(app, config, later(24 * 60 + 1))) == 1


def test_instant_email_goes_with_each_new_batch(app, client, auth, config, world):
    prefs = {"email": "instant"}
    assert client.put(API + "/notifications/preferences", json=prefs, headers=auth(*STUDENT)).status_code == 200
    send(client, auth, world["conversation"], "first")
    [digest] = due(app, config, later(31))
    with app.app_context():
        digests.claim_digest(db.session, digest, utcnow())
        db.session.commit()
    assert due(app, config, later(62)) == []
    send(client, auth, world["conversation"], "second")
    assert len(due(app, config, later(62))) == 1


@pytest.mark.parametrize("prefs", [{"email": "off"},
                                   {"quiet_hours": {"start": "00:00", "end": "23:59", "timezone": "UTC"}}])
def test_preferences_hold_digests_back(app, client, auth, config, world, prefs):
    assert client.put(API + "/notifications/preferences", json=prefs, headers=auth(*STUDENT)).status_code == 200
    send(client, auth, world["conversation"], "hello")
    assert due(app, config, later(31).replace(hour=12)) == []


def test_read_notifications_and_unknown_addresses_get_nothing(app, client, auth, config, world):
    send(client, auth, world["conversation"], "to the mentor", who=STUDENT)  # the mentor has no address
    send(client, auth, world["conversation"], "to the student")
    assert [d.principal for d in due(app, config, later(31))] == [Principal(*STUDENT)]
    assert client.post(API + "/notifications/read", json={"all": True}, headers=auth(*STUDENT)).status_code == 200
    assert due(app, config, later(31)) == []


def test_presence_across_gateways_decides(app, client, auth, config, world):
    r, channel = redis.Redis.from_url("redis://127.0.0.1:6379/0"), f"rt:test:digest:{uuid.uuid4().hex[:8]}"
    presence, key = PresenceLookup(r, channel), f"{channel}:presence:student:2"
    try:
        send(client, auth, world["conversation"], "hello")
        r.zadd(key, {"gateway-b": utcnow().timestamp() + 3600})  # a socket open on some gateway
        assert due(app, config, later(31), presence) == []
        r.delete(key)
        # As gateway/presence_store.py writes it: the last activity, unix seconds.
        r.set(f"{channel}:lastseen:student:2", repr(time.time() - 7200))
        assert len(due(app, config, later(1), presence)) == 1  # offline for two hours already
        r.set(f"{channel}:lastseen:student:2", repr(time.time()))
        assert due(app, config, later(1), presence) == []  # just left
    finally:
        r.delete(key, f"{channel}:lastseen:student:2")
        r.close()


def test_a_session_reminder_does_not_wait(app, config, world):
    with app.app_context():
        db.session.add(Notification(recipient_role="student", recipient_id=2, type="session_reminder",
                                    title="Session with mentor 1 in 10 minutes", count=1))
        db.session.commit()
    [digest] = due(app, config, later(1))
    assert digest.items[0]["title"] == "Session with mentor 1 in 10 minutes"


# --- the email and its unsubscribe link ---

def built(app, config, client, auth, world, text="hello") -> tuple[digests.Digest, email.message.EmailMessage]:
    send(client, auth, world["conversation"], text)
    [digest] = due(app, config, later(31))
    return digest, digests.build_digest(digest, config)


def test_the_email_is_text_and_html_with_everything_escaped(app, client, auth, config, world):
    _, message = built(app, config, client, auth, world, '<script>alert("x")</script> & more')
    assert message["To"] == ADDRESS and message["From"] == config.mail_from
    assert message["Subject"] == "You have 1 unread notification"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert '<script>alert("x")</script> & more' in text
    assert "<script>" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in html
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def _unsubscribe_path(message) -> str:
    url = message["List-Unsubscribe"].strip("<>")
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_the_unsubscribe_link_works_without_logging_in(app, client, auth, config, world):
    _, message = built(app, config, client, auth, world)
    path = _unsubscribe_path(message)
    assert path in message.get_body(("plain",)).get_content()
    page = client.get(path)  # what a mail scanner or a click does: changes nothing
    assert page.status_code == 200 and page.mimetype == "text/html" and "<form method=\"post\"" in page.text
    assert client.get(API + "/notifications/preferences", headers=auth(*STUDENT)).get_json()["email"] == "daily"
    done = client.post(path)
    assert done.status_code == 200 and done.get_json() == {"unsubscribed": True, "email": "off"}
    assert client.get(API + "/notifications/preferences", headers=auth(*STUDENT)).get_json()["email"] == "off"
    assert due(app, config, later(31)) == []
    assert client.post(path).status_code == 200  # again: still fine


def test_one_click_unsubscribe_and_a_browser_form_post(app, client, auth, config, world):
    _, message = built(app, config, client, auth, world)
    path = _unsubscribe_path(message)
    one_click = client.post(path, data="List-Unsubscribe=One-Click",
                            content_type="application/x-www-form-urlencoded")
    assert one_click.status_code == 200
    browser = client.post(path, data="", content_type="application/x-www-form-urlencoded",
                          headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"})
    assert browser.status_code == 200 and browser.mimetype == "text/html" and "Unsubscribed" in browser.text


@pytest.mark.parametrize("link", ["student.2.AAAAAAAAAAAAAAAAAAAAAAAA", "student.3.", "nobody.2.x", "x",
                                  "student.02.x", "student.\u0662.x"])
def test_a_forged_or_broken_link_is_404_and_changes_nothing(app, client, auth, config, world, link):
    for method in ("get", "post"):
        r = getattr(client, method)(API + "/unsubscribe", query_string={"token": link})
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "unsubscribe_link_invalid"
    assert client.get(API + "/notifications/preferences", headers=auth(*STUDENT)).get_json()["email"] == "daily"


def test_a_link_for_one_principal_is_not_valid_for_another(client, config):
    token = digests.unsubscribe_url(Principal("student", 2), config).rpartition("token=")[2]
    assert client.post(API + "/unsubscribe", query_string={"token": token}).status_code == 200
    forged = token.replace("student.2.", "student.3.")
    assert client.post(API + "/unsubscribe", query_string={"token": forged}).status_code == 404


def test_a_missing_or_huge_token_is_422(client):
    assert client.post(API + "/unsubscribe").status_code == 422
    assert client.get(API + "/unsubscribe", query_string={"token": "x" * 5000}).status_code == 422


# --- sending ---

def test_the_digest_reaches_a_real_smtp_server_once(app, client, auth, config, world, smtp):
    url, inbox = smtp
    config.smtp_url = url
    for n in range(5):
        send(client, auth, world["conversation"], f"message {n}")
    at = later(31)
    with app.app_context():
        [(digest, result)] = digests.send_due_digests(db.session, at, config, NO_REDIS)
        assert result.sent and digest.address == ADDRESS
        assert digests.send_due_digests(db.session, at, config, NO_REDIS) == []  # the next pass: nothing
    [(sender, recipients, raw)] = inbox.messages
    assert sender == "noreply@example.org" and recipients == [ADDRESS]
    received = email.message_from_bytes(raw, policy=email.policy.default)
    assert received.get_content_type() == "multipart/alternative"
    assert "message 4" in received.get_body(("plain",)).get_content()


def test_a_pass_that_fails_leaves_the_digest_for_the_next(app, client, auth, config, world, hangup_smtp, smtp):
    send(client, auth, world["conversation"], "hello")
    at = later(31)
    config.smtp_url = f"smtp://127.0.0.1:{hangup_smtp.port}"
    with app.app_context():
        [(_, failed)] = digests.send_due_digests(db.session, at, config, NO_REDIS)
        assert (failed.sent, failed.retryable) == (False, True)
        config.smtp_url, inbox = smtp
        [(_, sent)] = digests.send_due_digests(db.session, at, config, NO_REDIS)
    assert sent.sent and len(inbox.messages) == 1


def test_without_smtp_no_digest_is_claimed(app, client, auth, config, world):
    send(client, auth, world["conversation"], "hello")
    with app.app_context():
        assert digests.send_due_digests(db.session, later(31), config, NO_REDIS) == []
    assert len(due(app, config, later(31))) == 1


@pytest.mark.parametrize("line, retryable", [("550 5.1.1 no such user", False), ("451 4.7.1 try again later", True)])
def test_a_refusing_server(app, client, auth, config, world, refusing_smtp, line, retryable):
    digest, message = built(app, config, client, auth, world)
    result = send_mail(message, refusing_smtp(line))
    assert (result.sent, result.retryable) == (False, retryable)


def test_a_server_that_hangs_up_mid_data_is_retried(app, client, auth, config, world, hangup_smtp):
    digest, message = built(app, config, client, auth, world)
    result = send_mail(message, f"smtp://127.0.0.1:{hangup_smtp.port}", timeout=5)
    assert hangup_smtp.got_data.is_set()
    assert (result.sent, result.retryable) == (False, True)


def test_no_server_is_retried_and_the_digest_is_due_again(app, client, auth, config, world, closed_port):
    digest, message = built(app, config, client, auth, world)
    at = later(31)
    with app.app_context():
        assert digests.claim_digest(db.session, digest, at)
        db.session.commit()
    assert due(app, config, at) == []
    result = send_mail(message, f"smtp://127.0.0.1:{closed_port}", timeout=5)
    assert (result.sent, result.retryable) == (False, True)
    with app.app_context():
        digests.release_digest(db.session, digest, at)
        db.session.commit()
    assert len(due(app, config, at)) == 1


def test_smtp_login_and_an_authentication_failure(app, client, auth, config, world, smtp):
    url, inbox = smtp
    digest, message = built(app, config, client, auth, world)
    result = send_mail(message, url.replace("smtp://", "smtp://user:p%40ss@"))
    assert result.sent is False and "AUTH" in result.error  # this server offers no AUTH: said so
    assert inbox.messages == []
