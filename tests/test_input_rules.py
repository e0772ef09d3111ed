"""Hostile input, class by class (issue 12): ids, text, sizes, types.

Each rule answers with its status and code, and a refused request writes nothing.
"""
from __future__ import annotations

import json
import re
import socket

import pytest
from sqlalchemy import func, select

from api.extensions import db
from api.messaging.membership import open_mentorship_conversation
from shared.models import Base, Goal, MentorProfile, Message, Relationship

MENTOR, STUDENT, ADMIN, SERVICE = ("mentor", 11), ("student", 21), ("admin", 1), ("service", 1)
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.fixture
def world(app):
    """An active mentorship 11-21 with its conversation, a message and a goal; their ids."""
    with app.app_context():
        db.session.add(MentorProfile(mentor_id=11, sectors=[], skills=[], languages=[], accepting=True))
        rel = Relationship(mentor_id=11, student_id=21, status="active", requested_by="student")
        db.session.add(rel)
        db.session.flush()
        conversation = open_mentorship_conversation(rel)
        db.session.flush()
        message = Message(conversation_id=conversation.id, sender_role="mentor", sender_id=11, body="hi")
        goal = Goal(relationship_id=rel.id, title="learn", created_by_role="student", created_by_id=21)
        db.session.add_all([message, goal])
        db.session.commit()
        return {"rel": rel.id, "cid": conversation.id, "mid": message.id, "gid": goal.id}


@pytest.fixture
def call(client, auth):
    def make(method: str, path: str, who=STUDENT, **kwargs):
        return client.open("/api/v1" + path, method=method, headers=auth(*who), **kwargs)

    return make


@pytest.fixture
def rows(app):
    """rows() -> the number of rows of every table, to show nothing was written."""

    def count() -> dict:
        with app.app_context():
            return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}

    return count


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code, error
    return error["details"]


# Class 2: ids

PATHS = [
    ("GET", "/relationships/{rel}"),
    ("GET", "/relationships/{rel}/goals"),
    ("PATCH", "/goals/{gid}"),
    ("GET", "/conversations/{cid}"),
    ("GET", "/conversations/{cid}/messages"),
    ("DELETE", "/messages/{mid}"),
]


@pytest.mark.parametrize("digits", [ARABIC_INDIC, FULLWIDTH], ids=["arabic-indic", "fullwidth"])
@pytest.mark.parametrize("method, path", PATHS)
def test_path_ids_in_other_scripts_digits_are_404_not_another_row(call, world, rows, method, path, digits):
    ids = {key: str(value).translate(digits) for key, value in world.items()}
    before = rows()
    body = {"title": "x"} if method == "PATCH" else None
    refused(call(method, path.format(**ids), MENTOR, json=body), 404, "not_found")
    assert rows() == before
    assert call(method, path.format(**world), MENTOR, json=body).status_code < 300  # the ASCII id reaches the row


@pytest.mark.parametrize("path", [
    "/relationships/2147483648", "/goals/2147483648", "/conversations/9223372036854775808",
    "/messages/99999999999999999999999", "/conversations/" + "9" * 5000, "/blocks/student/2147483648",
])
def test_path_ids_beyond_their_column_are_404(call, world, path):
    method = "DELETE" if path.startswith(("/messages", "/blocks", "/goals")) else "GET"
    refused(call(method, path), 404, "not_found")


@pytest.mark.parametrize("query", [
    "/relationships?mentor_id=١١", "/relationships?mentor_id=2147483648", "/relationships?before=+5",
    "/relationships?student_id=1_000", "/relationships/{rel}/activities?after=%201",
    "/conversations/{cid}/messages?before=٣", "/notifications?before=9223372036854775808", "/events?after=-1",
])
def test_query_ids_that_are_not_ascii_digits_in_range_are_422(call, world, query):
    field = query.split("?")[1].split("=")[0]
    assert field in refused(call("GET", query.format(**world)), 422, "validation_failed")


@pytest.mark.parametrize("value", ["11", 11.0, True, 2**31, 0, -11, "١١", None], ids=repr)
def test_body_ids_are_json_integers_in_range(call, world, rows, value):
    before = rows()
    assert "mentor_id" in refused(call("POST", "/relationships", json={"mentor_id": value}), 422, "validation_failed")
    value = 2**63 if value == 2**31 else value  # message ids are BIGINT
    assert "message_id" in refused(call("POST", f"/conversations/{world['cid']}/read", json={"message_id": value}),
                                   422, "validation_failed")
    assert rows() == before


# Class 3: text

BAD_CHARS = ["\ud800", "\udfff", "\x00", "\x07", "\x0b", "\x1b", "\x7f", "\x85", "\x9f", "\ufffe", "\uffff"]
# (who, method, path, body with "{x}" where the text goes, the field the error names)
TEXT_FIELDS = [
    (STUDENT, "POST", "/relationships/{rel}/goals", {"title": "T{x}"}, "title"),
    (STUDENT, "POST", "/relationships/{rel}/goals", {"title": "t", "description": "d{x}"}, "description"),
    (STUDENT, "PATCH", "/goals/{gid}", {"title": "T{x}"}, "title"),
    (STUDENT, "POST", "/relationships/{rel}/activities", {"text": "note {x}"}, "text"),
    (STUDENT, "POST", "/relationships/{rel}/end", {"reason": "because {x}"}, "reason"),
    (STUDENT, "POST", "/relationships", {"mentor_id": 12, "message": "hello {x}"}, "message"),
    (STUDENT, "PUT", "/students/me/needs", {"goals": "g{x}"}, "goals"),
    (STUDENT, "PUT", "/students/me/needs", {"skills": ["ok", "py{x}"]}, "skills"),
    (MENTOR, "PUT", "/mentors/me/profile", {"sectors": ["{x}"]}, "sectors"),
    (MENTOR, "POST", "/conversations/{cid}/messages", {"body": "hi {x}"}, "body"),
    (MENTOR, "POST", "/conversations/{cid}/messages", {"body": "hi", "client_msg_id": "k{x}"}, "client_msg_id"),
    (ADMIN, "POST", "/broadcasts", {"audience": "all", "title": "t{x}", "body": "b"}, "title"),
    (SERVICE, "POST", "/events", {"room": "everyone", "type": "a:b", "data": {"a": [{"b": "{x}"}]}}, "data"),
    (SERVICE, "POST", "/events", {"room": "everyone", "type": "a:b", "data": {"k{x}": 1}}, "data"),
]


def _fill(body, text: str):
    return json.loads(json.dumps(body).replace("{x}", json.dumps(text)[1:-1]))


@pytest.mark.parametrize("who, method, path, body, field", TEXT_FIELDS,
                         ids=[f"{m} {p} {f}" for _, m, p, _, f in TEXT_FIELDS])
def test_every_text_field_refuses_control_characters_and_surrogates(call, world, rows, who, method, path, body, field):
    before = rows()
    for char in ("\ud800", "\x01"):
        response = call(method, path.format(**world), who, json=_fill(body, char))
        assert field in refused(response, 422, "validation_failed")
    assert rows() == before


@pytest.mark.parametrize("char", BAD_CHARS, ids=lambda c: f"U+{ord(c):04X}")
def test_each_refused_character(call, world, rows, char):
    before = rows()
    response = call("POST", f"/relationships/{world['rel']}/goals", json={"title": f"a{char}b"})
    assert list(refused(response, 422, "validation_failed")) == ["title"]
    assert rows() == before


def test_nested_event_data_names_the_path(call, world):
    body = {"room": "everyone", "type": "a:b", "data": {"list": ["ok", "bad\x00"], "k\x01": True}}
    details = refused(call("POST", "/events", SERVICE, json=body), 422, "validation_failed")
    assert details["data"]["list"]["1"] and details["data"]["k\\x01"]


def test_tab_newline_and_any_printable_script_are_text(call, world):
    title = "Plan:\tread\r\nwrite é 中文 🎉 \u200d"
    response = call("POST", f"/relationships/{world['rel']}/goals", json={"title": title})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["title"] == title


def test_query_text_follows_the_same_rule(call, world):
    assert "q" in refused(call("GET", "/messages/search?q=hello%01world"), 422, "validation_failed")


@pytest.mark.mysql
def test_a_database_refusal_is_422_not_an_outage(app, client, auth, caplog):
    """A CHECK (here MariaDB's JSON_VALID on a lone-surrogate escape) that input checks missed."""

    @app.route("/test-refusal", methods=["POST"])
    def refusal():
        db.session.add(MentorProfile(mentor_id=99, sectors=["\ud800"], skills=[], languages=[], accepting=True))
        db.session.commit()
        return {}

    response = client.post("/test-refusal")
    refused(response, 422, "value_refused")
    assert "database refused a value" in caplog.text
    with app.app_context():
        assert db.session.get(MentorProfile, 99) is None


# Class 4: sizes

@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"a":' * 50_000, json.dumps({"data": [[[[[[[[]]]]]]]] * 5}).encode()
                                 .replace(b"[]", b"[" * 40 + b"]" * 40)], ids=["100k [", "50k {", "40 deep"])
def test_deep_nesting_is_malformed_json(call, world, rows, raw):
    before = rows()
    response = call("POST", "/events", SERVICE, data=raw, content_type="application/json")
    refused(response, 400, "malformed_json")
    assert rows() == before


def test_a_number_of_thousands_of_digits_is_malformed_json(call, world):
    raw = b'{"body": "x", "parent_id": ' + b"9" * 5000 + b"}"
    path = f"/conversations/{world['cid']}/messages"
    response = call("POST", path, MENTOR, data=raw, content_type="application/json")
    refused(response, 400, "malformed_json")


# Class 5: types

@pytest.mark.parametrize("field, value", [
    ("max_mentees", "3"), ("max_mentees", 3.0), ("max_mentees", True), ("max_mentees", 3.5),
    ("accepting", "yes"), ("accepting", "true"), ("accepting", 1), ("accepting", 0), ("accepting", None),
], ids=repr)
def test_profile_types_are_strict(call, world, rows, field, value):
    before = rows()
    response = call("PUT", "/mentors/me/profile", MENTOR, json={field: value})
    assert field in refused(response, 422, "validation_failed")
    assert rows() == before


@pytest.mark.parametrize("body", [{"progress": "5"}, {"progress": True}, {"progress": 5.0}], ids=repr)
def test_goal_progress_is_a_json_integer(call, world, body):
    assert "progress" in refused(call("PATCH", f"/goals/{world['gid']}", json=body), 422, "validation_failed")


@pytest.mark.parametrize("value", ["true", 1, "yes"], ids=repr)
def test_read_all_is_a_json_boolean(call, world, value):
    assert "all" in refused(call("POST", "/notifications/read", json={"all": value}), 422, "validation_failed")


def test_query_flags_and_numbers_stay_text(call, world):
    for query in ("?unread=true", "?unread=0", "?limit=5"):
        assert call("GET", "/notifications" + query).status_code == 200
    assert "unread" in refused(call("GET", "/notifications?unread=yes"), 422, "validation_failed")
    assert call("PUT", "/mentors/me/profile", MENTOR, json={"max_mentees": 3, "accepting": False}).status_code == 200


def _raw_http(base_url: str, request: bytes) -> tuple[int, dict]:
    """Send a hand-written request over a real socket; the status and the JSON body of the answer."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            if length and len(body) >= int(length.group(1)):
                break
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def _chunked(token, parts: list[bytes]) -> bytes:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)
    return (b"POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + token(*SERVICE).encode() + b"\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n" + chunks + b"0\r\n\r\n")


def test_a_chunked_body_over_the_limit_is_413(live_server, config, token, rows):
    before = rows()
    item = b'"' + b"x" * 65_534 + b'",'
    parts = [b'{"room": "everyone", "type": "a:b", "data": {"k": ['] + [item] * 20 + [b"1]}}"]
    assert sum(map(len, parts)) > config.max_body_bytes
    status, body = _raw_http(live_server, _chunked(token, parts))
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    assert rows() == before


def test_a_chunked_body_within_the_limit_is_read_whole(live_server, token):
    parts = [b'{"room": "everyone", ', b'"type": "a:b", "data": {"k": 1}}']
    status, body = _raw_http(live_server, _chunked(token, parts))
    assert (status, body["data"]) == (201, {"k": 1})
