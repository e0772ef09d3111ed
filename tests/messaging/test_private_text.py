"""Private text after delete and edit: no copy of the old text is readable by
anyone - events over REST (as every member, and one who joined after), the
message list, search, notifications, the conversation list - nor left in the database."""
from __future__ import annotations

import json

import pytest

from api.extensions import db
from shared.models import Event, Message, Notification
from tests.messaging.conftest import send

OWNER, MEMBER, LATER = ("mentor", 1), ("student", 2), ("student", 3)
SECRET = "launch codes zebra"


@pytest.fixture
def group(as_):
    r = as_(*OWNER).post("/conversations", json={"type": "group", "title": "G",
                                                 "participants": [{"role": "student", "id": 2}]})
    return r.get_json()["id"]


def everything_readable(as_, who, cid: int) -> str:
    """All a principal can read about the conversation, as one text."""
    user = as_(*who)
    parts = [
        user.get("/events?after=0&limit=1000"),
        user.get(f"/conversations/{cid}/messages"),
        user.get("/conversations"),
        user.get(f"/conversations/{cid}"),
        user.get("/notifications"),
        user.get("/messages/search?q=zebra"),
        user.get("/messages/search?q=typo"),
    ]
    assert all(r.status_code == 200 for r in parts), [r.get_json() for r in parts]
    answers = [r.get_json() for r in parts]
    for search in answers[-2:]:
        search.pop("terms")  # the query's own words, echoed
    return " ".join(json.dumps(a, ensure_ascii=False) for a in answers)


def stored_text(app) -> str:
    with app.app_context():
        rows = [m.body for m in db.session.query(Message)]
        rows += [e.data for e in db.session.query(Event)]
        rows += [f"{n.body} {n.data}" for n in db.session.query(Notification)]
    return " ".join(rows)


def test_a_deleted_message_leaves_no_text_anyone_can_read(app, as_, group):
    owner = as_(*OWNER)
    mid = send(owner, group, SECRET)["id"]
    send(as_(*MEMBER), group, "a reply", parent_id=mid)
    assert owner.patch(f"/messages/{mid}", json={"body": SECRET + " edited"}).status_code == 200
    assert owner.delete(f"/messages/{mid}").status_code == 200
    owner.post(f"/conversations/{group}/participants", json={"participants": [{"role": "student", "id": 3}]})
    for who in (OWNER, MEMBER, LATER):
        readable = everything_readable(as_, who, group)
        assert "zebra" not in readable, who
    assert "zebra" not in stored_text(app)
    created = [e for e in as_(*LATER).get("/events?after=0").get_json()["events"] if e["type"] == "message:created"]
    assert created[0]["data"]["id"] == mid and created[0]["data"]["body"] is None
    assert created[0]["data"]["deleted_at"] is not None


def test_an_edited_message_leaves_only_the_new_text(app, as_, group):
    owner = as_(*OWNER)
    mid = send(owner, group, "first typo draft")["id"]
    assert owner.patch(f"/messages/{mid}", json={"body": "second typo draft"}).status_code == 200
    assert owner.patch(f"/messages/{mid}", json={"body": "final text"}).status_code == 200
    owner.post(f"/conversations/{group}/participants", json={"participants": [{"role": "student", "id": 3}]})
    for who in (OWNER, MEMBER, LATER):
        readable = everything_readable(as_, who, group)
        assert "typo" not in readable and "final text" in readable, who
    assert "typo" not in stored_text(app)
    logged = [e["data"]["body"] for e in as_(*MEMBER).get("/events?after=0").get_json()["events"]
              if e["type"].startswith("message:")]
    assert logged == ["final text"] * 3


def test_other_messages_and_their_events_are_untouched(as_, group):
    owner = as_(*OWNER)
    keep = send(owner, group, "keep this one")["id"]
    gone = send(owner, group, SECRET)["id"]
    owner.delete(f"/messages/{gone}")
    events = as_(*MEMBER).get("/events?after=0").get_json()["events"]
    kept = [e["data"] for e in events if e["type"] == "message:created" and e["data"]["id"] == keep]
    assert kept[0]["body"] == "keep this one" and kept[0]["deleted_at"] is None


def test_a_direct_message_notification_loses_its_preview_with_the_message(app, as_, relationship):
    relationship(1, 2, status="pending")
    cid = as_(*OWNER).post("/conversations", json={"type": "direct",
                                                   "participants": [{"role": "student", "id": 2}]}).get_json()["id"]
    mid = send(as_(*OWNER), cid, SECRET)["id"]
    assert [n["body"] for n in as_(*MEMBER).get("/notifications").get_json()["notifications"]] == [SECRET]
    as_(*OWNER).delete(f"/messages/{mid}")
    notes = as_(*MEMBER).get("/notifications").get_json()["notifications"]
    assert [(n["data"]["message_id"], n["body"]) for n in notes] == [(mid, None)]
    assert "zebra" not in everything_readable(as_, MEMBER, cid)
    assert "zebra" not in stored_text(app)


def test_a_coalesced_notification_follows_its_latest_message(app, as_, group):
    owner, member = as_(*OWNER), as_(*MEMBER)

    def note(type_="message"):
        return [n for n in member.get("/notifications").get_json()["notifications"] if n["type"] == type_][0]

    older = send(owner, group, "older zebra text")["id"]
    latest = send(owner, group, "latest typo text")["id"]
    assert (note()["count"], note()["body"]) == (2, "latest typo text")
    assert owner.patch(f"/messages/{latest}", json={"body": "latest fixed text"}).status_code == 200
    assert note()["body"] == "latest fixed text"
    # Deleting an earlier message leaves the preview of the latest; its own event loses the text.
    assert owner.delete(f"/messages/{older}").status_code == 200
    assert note()["body"] == "latest fixed text"
    assert "zebra" not in everything_readable(as_, MEMBER, group) and "typo" not in stored_text(app)
    # Deleting the latest leaves no preview at all.
    assert owner.delete(f"/messages/{latest}").status_code == 200
    assert (note()["count"], note()["body"]) == (2, None)
    mention = send(owner, group, "@student:2 the zebra again")["id"]
    assert note("mention")["body"] == "@student:2 the zebra again"
    assert owner.delete(f"/messages/{mention}").status_code == 200
    assert note("mention")["body"] is None
    readable = everything_readable(as_, MEMBER, group)
    assert "zebra" not in readable and "typo" not in readable and "fixed" not in readable
    assert "zebra" not in stored_text(app) and "fixed" not in stored_text(app)
    logged = [e["data"] for e in member.get("/events?after=0").get_json()["events"]
              if e["type"].startswith("notification:")]
    assert [(d["type"], d["count"], d["body"]) for d in logged] == [
        ("message", 1, None), ("message", 2, None), ("mention", 1, None)]


def test_a_broadcast_edited_then_deleted_takes_its_notifications_along(app, as_, relationship):
    relationship(1, 2)
    admin = as_("admin", 9)
    sent = admin.post("/broadcasts", json={"audience": "students", "title": "Notice", "body": "old typo notice"})
    mid = sent.get_json()["message_id"]
    assert admin.patch(f"/messages/{mid}", json={"body": "fixed notice"}).status_code == 200
    notes = as_(*MEMBER).get("/notifications").get_json()["notifications"]
    assert [n["body"] for n in notes] == ["fixed notice"]
    events = json.dumps(as_(*MEMBER).get("/events?after=0").get_json())
    assert "typo" not in events and "fixed notice" in events
    assert admin.delete(f"/messages/{mid}").status_code == 200
    notes = as_(*MEMBER).get("/notifications").get_json()["notifications"]
    assert [(n["title"], n["body"]) for n in notes] == [("Notice", None)]
    assert "notice" not in json.dumps(as_(*MEMBER).get("/events?after=0").get_json()).replace("Notice", "")
    assert "typo" not in stored_text(app) and "fixed" not in stored_text(app)


@pytest.mark.parametrize("body", [
    pytest.param("\U0001f600" * 10_000, id="4-byte emoji"),
    # Control characters are refused as text (api.inputs); what JSON still escapes is
    # quotes, backslashes and newlines (the trimmed newlines are the whitespace allowance).
    pytest.param("\n" * 500 + '"\\' * 5_000 + "\n" * 500, id="characters JSON escapes"),
])
def test_a_body_within_the_limit_fits_the_event_log_however_it_escapes(as_, group, body):
    owner = as_(*OWNER)
    r = owner.post(f"/conversations/{group}/messages", json={"body": body})
    assert r.status_code == 201, r.get_data(as_text=True)[:300]
    assert r.get_json()["body"] == body
    assert owner.patch(f"/messages/{r.get_json()['id']}", json={"body": body[::-1]}).status_code == 200
    events = as_(*MEMBER).get("/events?after=0").get_json()["events"]
    assert [e["data"]["body"] for e in events if e["type"].startswith("message:")] == [body[::-1]] * 2
