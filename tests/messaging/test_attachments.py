"""Attachments over HTTP, on both storages (a local directory and a real S3 API):
upload, send with a message, fetch, delete; what each payload and event carries."""
from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

from api.extensions import db
from shared.models import Attachment
from tests.attachment_files import docx_bytes, fetch, image_bytes, odt_bytes
from tests.messaging.conftest import send

MENTOR, STUDENT = ("mentor", 1), ("student", 2)


@pytest.fixture
def config(base_config, storage_url):
    return base_config.replace(storage_url=storage_url)


def upload(user, data: bytes, name: str = "photo.png", claimed: str = "application/octet-stream"):
    return user.post("/attachments", data={"file": (io.BytesIO(data), name, claimed)},
                     content_type="multipart/form-data")


def uploaded(user, data: bytes, name: str = "photo.png") -> dict:
    response = upload(user, data, name)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def pair(as_, mentorship):
    return as_(*MENTOR), as_(*STUDENT), mentorship(MENTOR[1], STUDENT[1])


def test_an_image_is_measured_and_thumbnailed_without_its_exif(pair, stored):
    mentor, _, _ = pair
    # Orientation 6: the camera was turned; GPS-like data in the maker tag must not reach the thumbnail.
    original = image_bytes((800, 400), "JPEG", exif={0x0112: 6, 0x010F: "SecretCam"})
    body = uploaded(mentor, original, "holiday.jpg")
    assert body == {"id": body["id"], "name": "holiday.jpg", "content_type": "image/jpeg", "size": len(original),
                    "width": 400, "height": 800, "url": f"/api/v1/attachments/{body['id']}",
                    "thumbnail": f"/api/v1/attachments/{body['id']}?thumbnail=1"}
    assert len(stored()) == 2  # the file and its thumbnail
    data, headers = fetch(mentor.get(f"/attachments/{body['id']}"))
    assert data == original and headers["Content-Type"] == "image/jpeg"
    thumb_bytes, thumb_headers = fetch(mentor.get(f"/attachments/{body['id']}?thumbnail=1"))
    thumb = Image.open(io.BytesIO(thumb_bytes))
    assert (thumb.format, thumb.size, thumb_headers["Content-Type"]) == ("WEBP", (160, 320), "image/webp")
    assert dict(thumb.getexif()) == {} and b"SecretCam" not in thumb_bytes


def test_a_streamed_file_is_served_safely(pair, storage_url):
    mentor, _, _ = pair
    body = uploaded(mentor, b"just words\n", "Résumé (final) 東京.txt")
    response = mentor.get(f"/attachments/{body['id']}")
    if storage_url.startswith("s3://"):
        assert response.status_code == 302 and "X-Amz-Signature=" in response.headers["Location"]
        assert response.headers["Cache-Control"] == "no-store"
        data, headers = fetch(response)
        assert headers["Content-Disposition"].startswith("attachment;")
    else:
        assert response.status_code == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert response.headers["Content-Disposition"] == (
            "attachment; filename=\"Resume (final) .txt\"; "
            "filename*=UTF-8''R%C3%A9sum%C3%A9%20%28final%29%20%E6%9D%B1%E4%BA%AC.txt")
        assert response.data == b"just words\n"


def test_office_documents_are_told_by_their_inner_parts(pair):
    mentor, _, _ = pair
    assert uploaded(mentor, docx_bytes(), "cv.docx")["content_type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert uploaded(mentor, odt_bytes(), "cv.odt")["content_type"] == "application/vnd.oasis.opendocument.text"
    pdf = uploaded(mentor, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "paper.pdf")
    assert (pdf["content_type"], pdf["width"], pdf["thumbnail"]) == ("application/pdf", None, None)


def test_the_name_gets_the_extension_of_what_the_file_is(pair):
    mentor, _, _ = pair
    assert uploaded(mentor, b"<script>alert(1)</script>", "page.html")["name"] == "page.html.txt"
    # The client's claim does not count: a "PNG" that is a PDF is a PDF.
    claimed_png = upload(mentor, b"%PDF-1.4\n", "scan.png", claimed="image/png").get_json()
    assert (claimed_png["content_type"], claimed_png["name"]) == ("application/pdf", "scan.png.pdf")


def test_sent_attachments_ride_on_the_message_its_list_and_its_event(pair, events):
    mentor, student, cid = pair
    image = uploaded(mentor, image_bytes(), "a.png")
    text = uploaded(mentor, b"hello", "b.txt")
    message = send(mentor, cid, "look", attachment_ids=[text["id"], image["id"]])
    assert [a["id"] for a in message["attachments"]] == sorted([image["id"], text["id"]])
    assert message["attachments"][0] == image
    listed = student.get(f"/conversations/{cid}/messages").get_json()["messages"][0]
    assert listed["attachments"] == message["attachments"]
    created = events(f"conversation:{cid}", "message:created")[-1]
    assert '"thumbnail":"/api/v1/attachments/' in created.data
    last = student.get("/conversations").get_json()["conversations"][0]["last_message"]
    assert last["attachments"] == message["attachments"]
    assert fetch(student.get(f"/attachments/{image['id']}"))[0] == image_bytes()


def test_a_message_may_be_only_files(pair):
    mentor, _, cid = pair
    file = uploaded(mentor, b"hi", "x.txt")
    response = mentor.post(f"/conversations/{cid}/messages", json={"attachment_ids": [file["id"]]})
    assert response.status_code == 201 and response.get_json()["body"] == ""
    empty = mentor.post(f"/conversations/{cid}/messages", json={})
    assert empty.status_code == 422 and "body" in empty.get_json()["error"]["details"]


def test_deleting_the_message_deletes_its_files(app, pair, stored, events):
    mentor, student, cid = pair
    image = uploaded(mentor, image_bytes(), "a.png")
    message = send(mentor, cid, "look", attachment_ids=[image["id"]])
    assert len(stored()) == 2
    deleted = mentor.delete(f"/messages/{message['id']}")
    assert deleted.status_code == 200 and deleted.get_json()["attachments"] == []
    assert stored() == set()
    assert student.get(f"/attachments/{image['id']}").status_code == 404
    with app.app_context():
        assert db.session.query(Attachment).count() == 0
    # The logged events no longer name the file either.
    assert all('"attachments":[]' in e.data for e in events(f"conversation:{cid}") if e.type.startswith("message:"))


def test_an_edit_keeps_the_attachments(pair):
    mentor, _, cid = pair
    file = uploaded(mentor, b"hi", "x.txt")
    message = send(mentor, cid, "first", attachment_ids=[file["id"]])
    edited = mentor.patch(f"/messages/{message['id']}", json={"body": "second"}).get_json()
    assert edited["attachments"] == message["attachments"]


def test_a_file_gone_from_storage_is_404(app, pair, storage_url):
    mentor, _, _ = pair
    body = uploaded(mentor, b"soon gone", "a.txt")
    with app.app_context():
        key = db.session.get(Attachment, body["id"]).storage_key
    app.extensions["storage"].delete([key])
    response = mentor.get(f"/attachments/{body['id']}")
    if storage_url.startswith("s3://"):  # the signed URL is made without a lookup; S3 answers for the object
        assert response.status_code == 302
        assert requests.get(response.headers["Location"], timeout=10).status_code in (403, 404)  # S3 may say 403
    else:
        assert (response.status_code, response.get_json()["error"]["code"]) == (404, "attachment_not_found")
