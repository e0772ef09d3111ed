"""Attachments refused: who may not fetch or send them (outsider, former
member, blocked user, wrong role), and bad uploads (too big, wrong or spoofed
type, corrupt images, bombs, path tricks), each a 4xx in the error shape that
leaves no file and no row behind. On both storages."""
from __future__ import annotations

import http.client
import io
import json
import socket

import pytest
import requests

from api.extensions import db
from shared.models import Attachment
from tests.attachment_files import docx_bytes, image_bytes, png_header_only, zip_bytes
from tests.messaging.conftest import send

MENTOR, STUDENT = ("mentor", 1), ("student", 2)
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200


@pytest.fixture
def config(base_config, storage_url):
    return base_config.replace(storage_url=storage_url, attachment_max_bytes=200_000)


def upload(user, data: bytes, name: str = "file.bin", claimed: str = "application/octet-stream"):
    return user.post("/attachments", data={"file": (io.BytesIO(data), name, claimed)},
                     content_type="multipart/form-data")


def uploaded(user, data: bytes = b"some text", name: str = "a.txt") -> dict:
    response = upload(user, data, name)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def nothing_left(app, stored):
    """Asserts, after the test, that no upload left a row or a file."""
    yield
    with app.app_context():
        assert db.session.query(Attachment).count() == 0
    assert stored() == set()


def _refused(response, status: int, code: str) -> None:
    body = response.json() if isinstance(response, requests.Response) else response.get_json()
    assert response.status_code == status, body
    assert set(body) == {"error"} and body["error"]["code"] == code


BAD_UPLOADS = {
    "too big": (b"x" * 200_001, "big.txt", "text/plain", 413, "payload_too_large"),
    "an executable": (ELF, "tool.png", "image/png", 415, "unsupported_type"),
    "a zip that is no office document": (zip_bytes({"a.txt": b"x"}), "a.docx", "application/zip", 415,
                                         "unsupported_type"),
    "a macro-enabled document": (docx_bytes(macro=True), "a.docx", "application/msword", 415, "unsupported_type"),
    "binary that is not utf-8 text": (b"\xff\xfe\x00h\x00i", "a.txt", "text/plain", 415, "unsupported_type"),
    "an svg (script inside)": (b"<svg onload='alert(1)'/>\x00", "a.svg", "image/svg+xml", 415, "unsupported_type"),
    "a corrupt png": (b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20, "a.png", "image/png", 422, "image_unreadable"),
    "a truncated jpeg": (image_bytes((300, 300), "JPEG")[:400], "a.jpg", "image/jpeg", 422, "image_unreadable"),
    "a decompression bomb": (png_header_only(30_000, 30_000), "bomb.png", "image/png", 422, "image_too_large"),
    "too many pixels for us": (png_header_only(8_000, 7_000), "big.png", "image/png", 422, "image_too_large"),
    "an empty file": (b"", "a.txt", "text/plain", 422, "file_empty"),
    "a path": (b"text", "../../etc/passwd", "text/plain", 422, "file_name_invalid"),
    "a directory": (b"text", "a/b.txt", "text/plain", 422, "file_name_invalid"),
    "a right-to-left override": (b"text", "invoice\u202egpj.exe", "text/plain", 422, "file_name_invalid"),
    "a control character": (b"text", "a\x01.txt", "text/plain", 422, "file_name_invalid"),
    "a zero-width space": (b"text", "a\u200b.txt", "text/plain", 422, "file_name_invalid"),
    "a name too long": (b"text", "a" * 300 + ".txt", "text/plain", 422, "file_name_invalid"),
    "no name": (b"text", "", "text/plain", 422, "file_name_invalid"),
}


@pytest.mark.parametrize("case", BAD_UPLOADS, ids=list(BAD_UPLOADS))
def test_bad_uploads_are_refused_and_leave_nothing(as_, case, nothing_left):
    data, name, claimed, status, code = BAD_UPLOADS[case]
    _refused(upload(as_(*MENTOR), data, name, claimed), status, code)


def test_a_type_left_out_of_attachment_types_is_415(app, as_, config, nothing_left):
    config.attachment_types = ["image/png"]
    _refused(upload(as_(*MENTOR), b"%PDF-1.4\n", "a.pdf"), 415, "unsupported_type")


@pytest.mark.parametrize("body, headers", [
    ('{"file": "x"}', {"Content-Type": "application/json"}),
    ("file=x", {"Content-Type": "application/x-www-form-urlencoded"}),
])
def test_an_upload_that_is_not_multipart_is_415(client, auth, body, headers, nothing_left):
    response = client.post("/api/v1/attachments", data=body, headers={**auth(*MENTOR), **headers})
    _refused(response, 415, "multipart_required")


@pytest.mark.parametrize("data", [
    lambda: {"other": (io.BytesIO(b"text"), "a.txt")},
    lambda: {"file": "not a file"},
    lambda: {"file": [(io.BytesIO(b"one"), "a.txt"), (io.BytesIO(b"two"), "b.txt")]},
], ids=["another field", "a text field", "two files"])
def test_the_file_field_must_hold_one_file(as_, data, nothing_left):
    response = as_(*MENTOR).post("/attachments", data=data(), content_type="multipart/form-data")
    _refused(response, 422, "validation_failed")


def test_a_broken_multipart_body_is_422(client, auth, nothing_left):
    headers = {**auth(*MENTOR), "Content-Type": "multipart/form-data; boundary=zzz"}
    _refused(client.post("/api/v1/attachments", data=b"--zzz\r\nnonsense", headers=headers), 422, "validation_failed")


def test_a_declared_size_over_the_limit_is_refused_before_reading(live_server, token, nothing_left):
    """300 MB announced, 64 KiB sent: the answer comes without the server waiting for the rest."""
    host, port = live_server.removeprefix("http://").split(":")
    head = (f"POST /api/v1/attachments HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token(*MENTOR)}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 300000000\r\nConnection: close\r\n\r\n")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head.encode() + b"--b\r\n" + b"x" * 65536)
        answer = http.client.HTTPResponse(conn)  # reads the answer while the body is still owed
        answer.begin()
        assert answer.status == 413
        assert json.loads(answer.read())["error"]["code"] == "payload_too_large"


def test_a_chunked_upload_over_the_limit_is_413(live_server, token, nothing_left):
    def chunks():
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n"
        for _ in range(6):
            yield b"x" * 65536
        yield b"\r\n--b--\r\n"

    headers = {"Authorization": f"Bearer {token(*MENTOR)}", "Content-Type": "multipart/form-data; boundary=b"}
    response = requests.post(live_server + "/api/v1/attachments", data=chunks(), headers=headers, timeout=10)
    _refused(response, 413, "payload_too_large")
    assert response.json()["error"]["details"] == {"file": ["at most 200000 bytes"]}


def test_a_chunked_upload_within_the_limit_is_stored(live_server, token):
    """Chunked and over MAX_BODY_BYTES (the JSON limit): this route has its own limit."""
    def chunks():
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n"
        yield b"y" * 150_000
        yield b"\r\n--b--\r\n"

    headers = {"Authorization": f"Bearer {token(*MENTOR)}", "Content-Type": "multipart/form-data; boundary=b"}
    response = requests.post(live_server + "/api/v1/attachments", data=chunks(), headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    assert response.json()["size"] == 150_000


# Who may do what


@pytest.fixture
def sent(as_, mentorship):
    """A mentorship where the mentor sent a file: (conversation id, attachment id)."""
    mentor = as_(*MENTOR)
    cid = mentorship(MENTOR[1], STUDENT[1])
    file = uploaded(mentor)
    send(mentor, cid, "see this", attachment_ids=[file["id"]])
    return cid, file["id"]


def test_a_service_cannot_upload(as_, nothing_left):
    _refused(upload(as_("service", 1), b"text", "a.txt"), 403, "read_only_role")


@pytest.mark.parametrize("who", [("student", 99), ("mentor", 2), ("admin", 1), ("service", 1), ("student", 1)])
def test_outsiders_and_other_roles_get_404(as_, sent, who):
    _, attachment_id = sent
    _refused(as_(*who).get(f"/attachments/{attachment_id}"), 404, "attachment_not_found")
    _refused(as_(*who).get(f"/attachments/{attachment_id}?thumbnail=1"), 404, "attachment_not_found")


def test_an_unsent_upload_is_its_uploaders_alone(as_, mentorship):
    mentorship(MENTOR[1], STUDENT[1])
    file = uploaded(as_(*MENTOR))
    assert as_(*MENTOR).get(f"/attachments/{file['id']}").status_code in (200, 302)
    _refused(as_(*STUDENT).get(f"/attachments/{file['id']}"), 404, "attachment_not_found")


def test_no_thumbnail_for_a_file_that_has_none(as_, sent):
    _, attachment_id = sent
    _refused(as_(*STUDENT).get(f"/attachments/{attachment_id}?thumbnail=1"), 404, "thumbnail_not_found")


@pytest.mark.parametrize("query", ["thumbnail=yes", "thumbnail=2", "thumbnail=\x01"])
def test_a_bad_thumbnail_flag_is_422(as_, sent, query):
    _, attachment_id = sent
    _refused(as_(*STUDENT).get(f"/attachments/{attachment_id}?{query}"), 422, "validation_failed")


@pytest.mark.parametrize("path", ["/attachments/0", "/attachments/99999999999999999999", "/attachments/abc",
                                  "/attachments/%D9%A1"])
def test_ids_that_are_no_ids_are_404(as_, path):
    assert as_(*MENTOR).get(path).status_code == 404


def test_a_former_member_fetches_what_came_before_they_left_only(as_):
    owner, leaver = as_(*MENTOR), as_("student", 3)
    gid = owner.post("/conversations", json={"type": "group", "title": "G", "participants": [
        {"role": "student", "id": 3}, {"role": "student", "id": 4}]}).get_json()["id"]
    before = uploaded(owner)
    send(owner, gid, "before", attachment_ids=[before["id"]])
    assert leaver.delete(f"/conversations/{gid}/participants/student/3").status_code == 200
    after = uploaded(owner)
    send(owner, gid, "after", attachment_ids=[after["id"]])
    assert leaver.get(f"/attachments/{before['id']}").status_code in (200, 302)
    _refused(leaver.get(f"/attachments/{after['id']}"), 404, "attachment_not_found")
    assert as_("student", 4).get(f"/attachments/{after['id']}").status_code in (200, 302)


def test_a_blocked_pair_keeps_the_history_but_sends_no_files(as_):
    admin, student = as_("admin", 1), as_(*STUDENT)
    did = admin.post("/conversations", json={"type": "direct", "participants": [
        {"role": "student", "id": 2}]}).get_json()["id"]
    old = uploaded(admin)
    send(admin, did, "old", attachment_ids=[old["id"]])
    assert student.post("/blocks", json={"role": "admin", "id": 1}).status_code == 201
    new = uploaded(student)
    refused = student.post(f"/conversations/{did}/messages", json={"body": "x", "attachment_ids": [new["id"]]})
    _refused(refused, 403, "blocked")
    assert student.get(f"/attachments/{new['id']}").status_code in (200, 302)
    assert student.get(f"/attachments/{old['id']}").status_code in (200, 302)


def test_a_message_cannot_take_someone_elses_or_a_sent_upload(as_, mentorship, sent):
    cid, sent_id = sent
    mentor, student = as_(*MENTOR), as_(*STUDENT)
    theirs = uploaded(mentor)
    cases = {
        "someone else's": (student, [theirs["id"]], "attachment_not_found"),
        "someone else's, already sent": (student, [sent_id], "attachment_not_found"),
        "one's own, already sent": (mentor, [theirs["id"], sent_id], "attachment_already_sent"),
        "unknown": (mentor, [9_999_999], "attachment_not_found"),
        "twice in one list": (mentor, [theirs["id"], theirs["id"]], "validation_failed"),
        "eleven": (mentor, list(range(1, 12)), "validation_failed"),
        "a string id": (mentor, ["1"], "validation_failed"),
        "not a list": (mentor, theirs["id"], "validation_failed"),
    }
    for name, (user, ids, code) in cases.items():
        response = user.post(f"/conversations/{cid}/messages", json={"body": "x", "attachment_ids": ids})
        assert (response.status_code, response.get_json()["error"]["code"]) == (422, code), name
    refused = mentor.post(f"/conversations/{cid}/messages",
                          json={"body": "x", "attachment_ids": [theirs["id"], sent_id]})
    assert refused.get_json()["error"]["details"] == {"attachment_ids": {"1": ["already sent with a message"]}}
    assert len(student.get(f"/conversations/{cid}/messages").get_json()["messages"]) == 1
    # Still the mentor's to send.
    assert send(mentor, cid, "mine", attachment_ids=[theirs["id"]])["attachments"][0]["id"] == theirs["id"]


def test_ten_files_go_with_one_message(as_, mentorship):
    mentor = as_(*MENTOR)
    cid = mentorship(MENTOR[1], STUDENT[1])
    ids = [uploaded(mentor, f"file {i}".encode())["id"] for i in range(10)]
    assert [a["id"] for a in send(mentor, cid, "all", attachment_ids=ids)["attachments"]] == ids


def test_a_former_member_cannot_send_files(as_):
    owner, leaver = as_(*MENTOR), as_("student", 3)
    gid = owner.post("/conversations", json={"type": "group", "title": "G", "participants": [
        {"role": "student", "id": 3}]}).get_json()["id"]
    assert leaver.delete(f"/conversations/{gid}/participants/student/3").status_code == 200
    file = uploaded(leaver)
    response = leaver.post(f"/conversations/{gid}/messages", json={"body": "x", "attachment_ids": [file["id"]]})
    _refused(response, 403, "not_a_participant")


def test_a_storage_that_does_not_answer_is_503_and_leaves_no_row(app, as_, s3_endpoint):
    from api.messaging.storage import make_storage

    # A bucket that does not exist stands for an S3 service that refuses every write.
    app.extensions["storage"] = make_storage(f"s3://k:s@no-such-bucket?endpoint={s3_endpoint}&region=us-east-1")
    response = upload(as_(*MENTOR), image_bytes(), "a.png")
    _refused(response, 503, "storage_unavailable")
    assert response.headers["Retry-After"] == "5"
    with app.app_context():
        assert db.session.query(Attachment).count() == 0


def test_unsent_uploads_are_capped_per_person(as_, config, mentorship):
    config.attachment_unsent_max = 2
    mentor, other = as_(*MENTOR), as_("mentor", 5)
    cid = mentorship(MENTOR[1], STUDENT[1])
    first, _ = uploaded(mentor), uploaded(mentor)
    refused = upload(mentor, b"third", "c.txt")
    _refused(refused, 409, "too_many_unsent_uploads")
    assert refused.get_json()["error"]["details"] == {"limit": 2}
    assert upload(other, b"someone else", "d.txt").status_code == 201
    send(mentor, cid, "one sent", attachment_ids=[first["id"]])  # frees a place
    assert upload(mentor, b"third", "c.txt").status_code == 201
