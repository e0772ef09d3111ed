"""A mentor sends an image; the student, connected to the gateway, sees it
arrive live with its metadata and thumbnail, and fetches the thumbnail."""
from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

from tests.attachment_files import image_bytes
from tests.gateway.helpers import Sock, run

MENTOR, STUDENT = ("mentor", 21), ("student", 31)


@pytest.fixture
def config(base_config, redis_url, channel, storage_url):
    """The gateway fixtures' API settings, on both attachment storages."""
    return base_config.replace(redis_url=redis_url, events_channel=channel, storage_url=storage_url)


def test_the_student_sees_the_mentors_image_live_with_its_thumbnail(gateways, api, live_server, token):
    gateway = gateways()
    cid = api.group(1, [MENTOR, STUDENT])
    mentor = {"Authorization": f"Bearer {token(*MENTOR)}"}
    photo = image_bytes((1200, 900), "JPEG")

    async def scenario():
        student = await Sock(gateway.url).connect(token(*STUDENT))
        upload = requests.post(f"{live_server}/api/v1/attachments", headers=mentor, timeout=10,
                               files={"file": ("garden.jpg", photo, "image/jpeg")})
        assert upload.status_code == 201, upload.text
        sent = requests.post(f"{live_server}/api/v1/conversations/{cid}/messages", headers=mentor, timeout=10,
                             json={"body": "our garden", "attachment_ids": [upload.json()["id"]]})
        assert sent.status_code == 201, sent.text
        got = await student.wait_for(lambda s: s.of("message:created"), what="message:created")
        await student.close()
        return upload.json(), got[0]["data"]

    file, message = run(scenario())
    assert message["body"] == "our garden"
    assert message["attachments"] == [{
        "id": file["id"], "name": "garden.jpg", "content_type": "image/jpeg", "size": len(photo),
        "width": 1200, "height": 900, "url": f"/api/v1/attachments/{file['id']}",
        "thumbnail": f"/api/v1/attachments/{file['id']}?thumbnail=1",
    }]
    thumbnail = requests.get(live_server + message["attachments"][0]["thumbnail"], timeout=10,
                             headers={"Authorization": f"Bearer {token(*STUDENT)}"})
    assert thumbnail.status_code == 200 and thumbnail.headers["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(thumbnail.content)).size == (320, 240)
