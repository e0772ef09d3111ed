"""/webhooks over REST: who may, what is refused (with the one error shape,
never a partial write), the secret shown once, deliveries listed and retried."""
from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from api.extensions import db
from shared.models import Delivery
from shared.models import Webhook as WebhookRow
from shared.timeutil import utcnow

HOOKS = "/api/v1/webhooks"
GOOD = {"url": "https://php.example.org/hooks", "types": ["message:created"]}


def _count(app) -> int:
    with app.app_context():
        return db.session.query(WebhookRow).count()


def test_register_list_get_delete(client, admin, auth):
    created = client.post(HOOKS, json={**GOOD, "types": ["message:created", "message:created", "session:created"]},
                          headers=auth("service", 1))
    assert created.status_code == 201
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and Webhook(body["secret"])  # the library takes it
    assert body["types"] == ["message:created", "session:created"]
    assert body["created_by"] == {"role": "service", "id": 1}
    shown = client.get(f"{HOOKS}/{body['id']}", headers=admin).get_json()
    assert "secret" not in shown and shown["url"] == GOOD["url"]
    listed = client.get(HOOKS, headers=admin).get_json()
    assert [w["id"] for w in listed["webhooks"]] == [body["id"]] and "secret" not in listed["webhooks"][0]
    assert client.post(HOOKS, json={**GOOD, "types": ["*", "a:b"]}, headers=admin).get_json()["types"] == ["*"]
    assert client.delete(f"{HOOKS}/{body['id']}", headers=admin).status_code == 204
    assert client.get(f"{HOOKS}/{body['id']}", headers=admin).status_code == 404
    assert client.delete(f"{HOOKS}/{body['id']}", headers=admin).status_code == 404


@pytest.mark.parametrize("role", ["mentor", "student"])
def test_people_may_not_touch_webhooks(client, auth, admin, role):
    hook_id = client.post(HOOKS, json=GOOD, headers=admin).get_json()["id"]
    them = auth(role, 5)
    for method, url in [("post", HOOKS), ("get", HOOKS), ("get", f"{HOOKS}/{hook_id}"),
                        ("delete", f"{HOOKS}/{hook_id}"), ("get", f"{HOOKS}/{hook_id}/deliveries"),
                        ("post", f"{HOOKS}/{hook_id}/deliveries/1/retry")]:
        answer = getattr(client, method)(url, json=GOOD if method == "post" else None, headers=them)
        assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "role_not_allowed", url
    assert _count(client.application) == 1


PRIVATE = ["http://127.0.0.1/x", "http://10.1.2.3/", "http://192.168.0.9:8080/", "http://[::1]/",
           "http://169.254.169.254/latest/meta-data", "http://[::ffff:127.0.0.1]/", "http://localhost:5000/",
           "http://api.localhost/", "http://0.0.0.0/", "http://100.64.0.1/"]


@pytest.mark.parametrize("url", PRIVATE)
def test_private_addresses_are_refused_unless_allowed(client, admin, config, url):
    config.outbound_allow_private = False
    answer = client.post(HOOKS, json={**GOOD, "url": url}, headers=admin)
    assert answer.status_code == 422, url
    error = answer.get_json()["error"]
    assert error["code"] == "validation_failed" and "url" in error["details"]
    config.outbound_allow_private = True
    assert client.post(HOOKS, json={**GOOD, "url": url}, headers=admin).status_code == 201


BAD = [
    {"url": "ftp://example.org/x", "types": ["a:b"]},
    {"url": "https:///nohost", "types": ["a:b"]},
    {"url": "https://example.org:99999/", "types": ["a:b"]},
    {"url": "https://exämple.org/", "types": ["a:b"]},
    {"url": "https://example.org/a b", "types": ["a:b"]},
    {"url": "https://example.org/" + "x" * 2000, "types": ["a:b"]},
    {"url": "https://example.org/", "types": []},
    {"url": "https://example.org/", "types": ["message"]},
    {"url": "https://example.org/", "types": ["Message:Created"]},
    {"url": "https://example.org/", "types": [5]},
    {"url": "https://example.org/", "types": "message:created"},
    {"url": "https://example.org/", "types": [f"t{n}:x" for n in range(101)]},
    {"url": 7, "types": ["a:b"]},
    {"types": ["a:b"]},
    {"url": "https://example.org/", "types": ["a:b"], "secret": "whsec_mine"},
]


@pytest.mark.parametrize("body", BAD)
def test_bad_input_is_a_422_and_writes_nothing(client, admin, body):
    answer = client.post(HOOKS, json=body, headers=admin)
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "validation_failed"
    assert _count(client.application) == 0


def test_malformed_and_huge_bodies(client, admin):
    malformed = client.post(HOOKS, data="{nope", headers={**admin, "Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.get_json()["error"]["code"] == "malformed_json"
    huge = client.post(HOOKS, data="[" + "1," * 600_000 + "1]", headers={**admin, "Content-Type": "application/json"})
    assert huge.status_code == 413
    assert _count(client.application) == 0


def _deliveries(app, hook_id: int, *statuses: str) -> list[int]:
    with app.app_context():
        rows = [Delivery(event_id=100 + n, event_type="a:b", channel="webhook", target=str(hook_id), status=status,
                         attempts=8 if status == "failed" else 1, next_attempt_at=utcnow())
                for n, status in enumerate(statuses)]
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


def test_deliveries_pages_filters_and_retry(client, admin, auth, app):
    hook_id = client.post(HOOKS, json=GOOD, headers=admin).get_json()["id"]
    other = client.post(HOOKS, json=GOOD, headers=admin).get_json()["id"]
    ids = _deliveries(app, hook_id, "sent", "failed", "failed", "pending")
    (foreign,) = _deliveries(app, other, "failed")
    url = f"{HOOKS}/{hook_id}/deliveries"
    page = client.get(url + "?limit=3", headers=admin).get_json()
    assert [d["id"] for d in page["deliveries"]] == ids[::-1][:3] and page["next_before"] == ids[1]
    rest = client.get(f"{url}?limit=3&before={page['next_before']}", headers=admin).get_json()
    assert [d["id"] for d in rest["deliveries"]] == [ids[0]] and rest["next_before"] is None
    failed = client.get(url + "?status=failed", headers=admin).get_json()["deliveries"]
    assert [d["id"] for d in failed] == [ids[2], ids[1]] and failed[0]["next_attempt_at"] is None
    assert client.get(url + "?status=lost", headers=admin).status_code == 422
    assert client.get(url + "?before=x", headers=admin).status_code == 422
    again = client.post(f"{url}/{ids[1]}/retry", headers=auth("service", 3))
    assert again.status_code == 200 and again.get_json()["status"] == "pending"
    assert again.get_json()["next_attempt_at"] is not None
    # Another webhook's delivery, or an unknown one, is not found through this webhook.
    assert client.post(f"{url}/{foreign}/retry", headers=admin).status_code == 404
    assert client.post(f"{url}/999999/retry", headers=admin).status_code == 404
    assert client.get(f"{HOOKS}/999999/deliveries", headers=admin).status_code == 404


def test_a_delivery_being_sent_is_not_retried_by_hand(client, admin, app):
    hook_id = client.post(HOOKS, json=GOOD, headers=admin).get_json()["id"]
    (delivery_id,) = _deliveries(app, hook_id, "pending")
    with app.app_context():
        row = db.session.get(Delivery, delivery_id)
        row.lease_owner, row.leased_until = "w1", utcnow().replace(year=utcnow().year + 1)
        db.session.commit()
    answer = client.post(f"{HOOKS}/{hook_id}/deliveries/{delivery_id}/retry", headers=admin)
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "delivery_in_flight"


def test_deleting_a_webhook_drops_its_deliveries(client, admin, app):
    hook_id = client.post(HOOKS, json=GOOD, headers=admin).get_json()["id"]
    _deliveries(app, hook_id, "pending", "sent")
    assert client.delete(f"{HOOKS}/{hook_id}", headers=admin).status_code == 204
    with app.app_context():
        assert db.session.query(Delivery).count() == 0
