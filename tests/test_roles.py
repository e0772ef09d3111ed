"""The `service` role reads; of the writes it may only publish events, set
team rosters and manage webhooks (CONTRACT "Roles, once more"). Every non-GET
route of the app, walked."""
from __future__ import annotations

from tests.test_openapi import _routes

# The writes a service may make; every other one is 403 `read_only_role`.
SERVICE_WRITES = {
    ("POST", "/api/v1/events"), ("PUT", "/api/v1/teams/1/members"),
    ("POST", "/api/v1/webhooks"), ("DELETE", "/api/v1/webhooks/1"),
    ("POST", "/api/v1/webhooks/1/deliveries/1/retry"),
}


def test_every_write_but_the_allowed_ones_is_read_only_for_a_service(app, client, auth):
    writes = [(method, url) for method, url in _routes(app) if method != "GET"]
    assert len(writes) >= 20
    answers = {}
    for method, url in writes:
        response = client.open(url, method=method, json={}, headers=auth("service", 1))
        answers[(method, url)] = (response.status_code, response.get_json()["error"]["code"])
    refused = {route for route, answer in answers.items() if answer == (403, "read_only_role")}
    assert set(answers) - refused == SERVICE_WRITES
    assert answers[("POST", "/api/v1/events")] == (422, "validation_failed")  # let through to validation
    assert answers[("PUT", "/api/v1/teams/1/members")] == (422, "validation_failed")


def test_a_service_still_reads_and_publishes(client, auth):
    service = auth("service", 1)
    assert client.get("/api/v1/relationships", headers=service).status_code == 200
    assert client.get("/api/v1/conversations", headers=service).status_code == 200
    published = client.post("/api/v1/events", json={"room": "everyone", "type": "notice:sent"}, headers=service)
    assert published.status_code == 201


def test_a_refused_write_changes_nothing(client, auth):
    r = client.post("/api/v1/blocks", json={"role": "student", "id": 2}, headers=auth("service", 1))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "read_only_role"
    assert client.get("/api/v1/blocks", headers=auth("service", 1)).get_json()["blocks"] == []
