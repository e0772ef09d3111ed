"""The Web Push REST routes: the VAPID key, subscriptions per principal, and their refusals."""
from __future__ import annotations

import pytest

from shared import vapid
from tests.away.servers import BrowserKeys

API = "/api/v1"
PUSH = "https://push.example.net/wpush/v2/abc"  # a literal public name: not resolved on registration


def subscription(endpoint: str = PUSH, **overrides) -> dict:
    return {**BrowserKeys().subscription(endpoint), **overrides}


def test_the_vapid_public_key_is_served_without_a_token(client, config):
    r = client.get(API + "/push/vapid-public-key")
    assert r.status_code == 200
    assert r.get_json() == {"public_key": vapid.public_key(vapid.load(config.vapid_private_key_file))}
    assert len(r.get_json()["public_key"]) == 87  # 65 bytes, URL-safe base64 without padding


def test_without_a_key_push_is_off(client, config):
    config.vapid_private_key_file = None
    r = client.get(API + "/push/vapid-public-key")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "push_disabled"


@pytest.mark.parametrize("role", ["student", "mentor", "admin"])
def test_each_principal_subscribes_lists_and_removes_their_own(client, auth, role):
    me = auth(role, 7)
    r = client.post(API + "/push/subscriptions", json=subscription(), headers=me)
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["endpoint"] == PUSH and created["previews"] is True
    listed = client.get(API + "/push/subscriptions", headers=me).get_json()["subscriptions"]
    assert [s["id"] for s in listed] == [created["id"]]
    assert client.delete(f"{API}/push/subscriptions/{created['id']}", headers=me).status_code == 204
    assert client.get(API + "/push/subscriptions", headers=me).get_json()["subscriptions"] == []


def test_the_same_browser_again_updates_its_keys(client, auth):
    me = auth("student", 1)
    first = client.post(API + "/push/subscriptions", json=subscription(), headers=me).get_json()
    again = subscription(previews=False)
    r = client.post(API + "/push/subscriptions", json=again, headers=me)
    assert r.status_code == 200 and r.get_json()["id"] == first["id"] and r.get_json()["previews"] is False
    assert len(client.get(API + "/push/subscriptions", headers=me).get_json()["subscriptions"]) == 1


def test_a_shared_browser_follows_whoever_subscribed_last(client, auth):
    first = client.post(API + "/push/subscriptions", json=subscription(), headers=auth("student", 1)).get_json()
    r = client.post(API + "/push/subscriptions", json=subscription(), headers=auth("student", 2))
    assert r.status_code == 201 and r.get_json()["id"] == first["id"]
    assert client.get(API + "/push/subscriptions", headers=auth("student", 1)).get_json()["subscriptions"] == []


def test_someone_elses_subscription_is_404_and_stays(client, auth):
    mine = client.post(API + "/push/subscriptions", json=subscription(), headers=auth("student", 1)).get_json()
    for who in (auth("student", 2), auth("mentor", 1), auth("admin", 1)):
        r = client.delete(f"{API}/push/subscriptions/{mine['id']}", headers=who)
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "subscription_not_found"
    assert client.delete(f"{API}/push/subscriptions/{mine['id'] + 1000}", headers=auth("student", 1)).status_code == 404
    assert len(client.get(API + "/push/subscriptions", headers=auth("student", 1)).get_json()["subscriptions"]) == 1


def test_a_service_cannot_subscribe(client, auth):
    r = client.post(API + "/push/subscriptions", json=subscription(), headers=auth("service", 1))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "read_only_role"


def test_a_token_is_needed(client):
    assert client.post(API + "/push/subscriptions", json=subscription()).status_code == 401
    assert client.get(API + "/push/subscriptions").status_code == 401


def test_the_oldest_subscriptions_give_way_past_twenty(client, auth):
    me = auth("mentor", 3)
    ids = [client.post(API + "/push/subscriptions", json=subscription(f"{PUSH}/{n}"), headers=me).get_json()["id"]
           for n in range(22)]
    listed = [s["id"] for s in client.get(API + "/push/subscriptions", headers=me).get_json()["subscriptions"]]
    assert listed == ids[2:]


GOOD = BrowserKeys().subscription(PUSH)


@pytest.mark.parametrize("body, field", [
    ({**GOOD, "endpoint": "http://push.example.net/x"}, "endpoint"),  # not https
    ({**GOOD, "endpoint": "ftp://push.example.net/x"}, "endpoint"),
    ({**GOOD, "endpoint": "push.example.net/x"}, "endpoint"),
    ({**GOOD, "endpoint": "https://user:pw@push.example.net/x"}, "endpoint"),
    ({**GOOD, "endpoint": "https://127.0.0.1/x"}, "endpoint"),
    ({**GOOD, "endpoint": "https://localhost:8443/x"}, "endpoint"),
    ({**GOOD, "endpoint": "https://10.1.2.3/x"}, "endpoint"),
    ({**GOOD, "endpoint": "https://[::1]/x"}, "endpoint"),
    ({**GOOD, "endpoint": "https://[::ffff:192.168.0.1]/x"}, "endpoint"),
    ({**GOOD, "endpoint": "https://169.254.169.254/latest"}, "endpoint"),
    ({**GOOD, "endpoint": "https://push.example.net:99999/x"}, "endpoint"),
    ({**GOOD, "endpoint": "https://push.example.net/" + "x" * 2000}, "endpoint"),
    ({**GOOD, "endpoint": 5}, "endpoint"),
    ({"endpoint": PUSH}, "keys"),
    ({**GOOD, "keys": {"auth": GOOD["keys"]["auth"]}}, "keys"),
    ({**GOOD, "keys": {**GOOD["keys"], "p256dh": "not base64!"}}, "keys"),
    ({**GOOD, "keys": {**GOOD["keys"], "p256dh": "BAAA"}}, "keys"),  # not a point
    ({**GOOD, "keys": {**GOOD["keys"], "p256dh": "B" + "A" * 86}}, "keys"),  # 65 bytes, off the curve
    ({**GOOD, "keys": {**GOOD["keys"], "auth": "c2hvcnQ"}}, "keys"),  # 5 bytes
    ({**GOOD, "keys": {**GOOD["keys"], "auth": 16}}, "keys"),
    ({**GOOD, "keys": {**GOOD["keys"], "extra": "x"}}, "keys"),
    ({**GOOD, "previews": "yes"}, "previews"),
    ({**GOOD, "expirationTime": "soon"}, "expirationTime"),
    ({**GOOD, "endpoint": "https://push.example.net/\u0000"}, "endpoint"),
    ({**GOOD, "endpoint": "https://push.example.net/\ud800"}, "endpoint"),
    ({**GOOD, "unknown": 1}, "unknown"),
])
def test_bad_subscriptions_are_422_and_store_nothing(client, auth, body, field):
    me = auth("student", 4)
    r = client.post(API + "/push/subscriptions", json=body, headers=me)
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["error"]["code"] == "validation_failed" and field in r.get_json()["error"]["details"]
    assert client.get(API + "/push/subscriptions", headers=me).get_json()["subscriptions"] == []


def test_private_endpoints_are_accepted_when_allowed(client, auth, config):
    config.outbound_allow_private = True
    r = client.post(API + "/push/subscriptions", json=subscription("http://127.0.0.1:9/push/a"),
                    headers=auth("student", 5))
    assert r.status_code == 201


@pytest.mark.parametrize("raw, status, code", [
    (b"{not json", 400, "malformed_json"),
    (b"[]", 422, "validation_failed"),
    (b'{"endpoint": "' + b"x" * 1_100_000 + b'"}', 413, "payload_too_large"),
])
def test_malformed_and_huge_bodies(client, auth, raw, status, code):
    headers = {**auth("student", 6), "Content-Type": "application/json"}
    r = client.post(API + "/push/subscriptions", data=raw, headers=headers)
    assert (r.status_code, r.get_json()["error"]["code"]) == (status, code)


def test_a_path_id_that_is_not_ascii_digits_is_404(client, auth):
    me = auth("student", 1)
    assert client.delete(API + "/push/subscriptions/\u0661", headers=me).status_code == 404
    assert client.delete(API + "/push/subscriptions/99999999999999999999", headers=me).status_code == 404
