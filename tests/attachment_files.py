"""Files to upload (made here, byte by byte or with Pillow), the S3 API server
the storage tests talk to, and a look into what the storage holds."""
from __future__ import annotations

import io
import socket
import struct
import uuid
import zipfile
import zlib
from pathlib import Path

import boto3
import requests
from PIL import Image

from api.messaging.storage import FileStorage, S3Storage

S3_KEY, S3_SECRET, S3_REGION = "testing-key", "testing-secret", "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_s3_server():
    """moto's standalone S3 API server on a free loopback port: (server, endpoint)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


def new_bucket(endpoint: str) -> str:
    name = f"att-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name=S3_REGION, aws_access_key_id=S3_KEY,
                 aws_secret_access_key=S3_SECRET).create_bucket(Bucket=name)
    return f"s3://{S3_KEY}:{S3_SECRET}@{name}?endpoint={endpoint}&region={S3_REGION}"


def stored_keys(storage) -> set[str]:
    if isinstance(storage, FileStorage):
        return {p.name for p in Path(storage.root).rglob("*") if p.is_file()}
    assert isinstance(storage, S3Storage)
    listing = storage.client.list_objects_v2(Bucket=storage.bucket)
    return {item["Key"] for item in listing.get("Contents", [])}


def image_bytes(size=(640, 480), fmt="PNG", mode="RGB", exif: dict | None = None) -> bytes:
    image = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else None)
    out = io.BytesIO()
    extra = {}
    if exif:
        tags = Image.Exif()
        tags.update(exif)
        extra["exif"] = tags.tobytes()
    image.save(out, fmt, **extra)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims `width` x `height` pixels in a few bytes (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def docx_bytes(macro: bool = False) -> bytes:
    entries = {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}
    if macro:
        entries["word/vbaProject.bin"] = b"\0" * 16
    return zip_bytes(entries)


def odt_bytes() -> bytes:
    return zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<office/>"})


def fetch(response):
    """The bytes a client ends up with: the streamed body, or what the signed URL serves."""
    if response.status_code == 302:
        followed = requests.get(response.headers["Location"], timeout=10)
        assert followed.status_code == 200, followed.text
        return followed.content, followed.headers
    assert response.status_code == 200, response.get_json()
    return response.data, response.headers
