"""POST /api/v1/events (publish from outside) and GET /api/v1/events (resync)."""
from __future__ import annotations

import pytest


@pytest.fixture
def publish(client, auth):
    def post(body, who=("service", 1)):
        return client.post("/api/v1/events", json=body, headers=auth(*who))

    return post


def test_service_and_admin_publish_to_a_room_or_a_principal(publish):
    response = publish({"room": "students", "type": "notice:created", "data": {"text": "hi"}})
    assert response.status_code == 201
    envelope = response.get_json()
    assert envelope["room"] == "students" and envelope["type"] == "notice:created" and envelope["id"] > 0
    response = publish({"to": {"role": "mentor", "id": 5}, "type": "notice:created"}, who=("admin", 1))
    assert response.status_code == 201 and response.get_json()["room"] == "mentor:5"
    assert response.get_json()["data"] == {}


@pytest.mark.parametrize("who", [("student", 1), ("mentor", 1)])
def test_others_may_not_publish(publish, who):
    response = publish({"room": "everyone", "type": "notice:created"}, who=who)
    assert response.status_code == 403


@pytest.mark.parametrize(
    "body,code",
    [
        ({"type": "notice:created"}, "validation_failed"),
        ({"room": "everyone", "to": {"role": "mentor", "id": 1}, "type": "a:b"}, "validation_failed"),
        ({"room": "lobby", "type": "notice:created"}, "validation_failed"),
        ({"room": "conversation:0", "type": "notice:created"}, "validation_failed"),
        ({"room": "everyone", "type": "typing"}, "validation_failed"),
        ({"room": "everyone", "type": "connect"}, "validation_failed"),
        ({"room": "everyone", "type": "Notice:Created"}, "validation_failed"),
        ({"room": "everyone", "type": "a:b", "data": [1]}, "validation_failed"),
        ({"room": "everyone", "type": "a:b", "extra": 1}, "validation_failed"),
        ({"to": {"role": "janitor", "id": 1}, "type": "a:b"}, "validation_failed"),
        ({"room": "student:3", "type": "participant:added", "data": {}}, "reserved_type"),
        ({"to": {"role": "student", "id": 3}, "type": "session:created", "data": {}}, "reserved_type"),
        ({"room": "everyone", "type": "dashboard:updated", "data": {}}, "reserved_type"),
        ({"room": "everyone", "type": "a:b", "data": {"x": "y" * 70_000}}, "event_too_large"),
    ],
)
def test_bad_publications_are_refused_and_change_nothing(publish, client, auth, body, code):
    response = publish(body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == code
    listed = client.get("/api/v1/events?after=0", headers=auth("admin", 1)).get_json()
    assert listed["events"] == []


def test_only_the_apis_own_resources_are_reserved(publish, client, auth):
    refused = publish({"to": {"role": "student", "id": 3}, "type": "goal:created", "data": {"title": "fake"}})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "reserved_type"
    assert refused.get_json()["error"]["details"]["type"]
    for type_ in ("goals:created", "sessionx:created", "invoice:session"):
        assert publish({"to": {"role": "student", "id": 3}, "type": type_}).status_code == 201
    feed = client.get("/api/v1/activity", headers=auth("student", 3)).get_json()
    assert feed["activity"] == []


def test_data_within_the_limit_is_logged_however_many_bytes_it_takes(publish, client, auth):
    data = {"x": "\U0001f600" * 59_990}  # 60,000 characters, 240 KB of UTF-8: past a TEXT column
    response = publish({"room": "everyone", "type": "a:b", "data": data})
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    listed = client.get("/api/v1/events?after=0", headers=auth("student", 1)).get_json()
    assert [e["data"] for e in listed["events"]] == [data]


def test_list_returns_only_the_callers_rooms(publish, client, auth):
    group = {"type": "group", "title": "g", "participants": [{"role": "student", "id": 3}]}
    cid = client.post("/api/v1/conversations", json=group, headers=auth("admin", 1)).get_json()["id"]
    for room in ["student:3", "student:4", "everyone", "students", "mentors", "admins", f"conversation:{cid}",
                 "conversation:999999"]:
        assert publish({"room": room, "type": "probe:sent", "data": {"room": room}}).status_code == 201
    page = client.get("/api/v1/events?after=0&limit=1000", headers=auth("student", 3)).get_json()
    probes = [e["room"] for e in page["events"] if e["type"] == "probe:sent"]
    assert probes == ["student:3", "everyone", "students", f"conversation:{cid}"]
    ids = [e["id"] for e in page["events"]]
    assert ids == sorted(ids) and page["last_event_id"] == ids[-1] and page["more"] is False
    admin = client.get("/api/v1/events?after=0", headers=auth("admin", 1)).get_json()
    assert "admins" in [e["room"] for e in admin["events"]]


def test_list_pages_by_id(publish, client, auth):
    for n in range(5):
        publish({"to": {"role": "student", "id": 8}, "type": "probe:sent", "data": {"n": n}})
    first = client.get("/api/v1/events?after=0&limit=2", headers=auth("student", 8)).get_json()
    assert [e["data"]["n"] for e in first["events"]] == [0, 1] and first["more"] is True
    rest = client.get(f"/api/v1/events?after={first['last_event_id']}&limit=10", headers=auth("student", 8))
    assert [e["data"]["n"] for e in rest.get_json()["events"]] == [2, 3, 4]
    assert client.get("/api/v1/events?after=-1", headers=auth("student", 8)).status_code == 422
    assert client.get("/api/v1/events").status_code == 401
