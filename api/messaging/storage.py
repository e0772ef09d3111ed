"""Where attachment files live, behind one small interface (`Storage`):
a local directory (`STORAGE_URL=file:///path`, the default `file://./attachments`)
or an S3-compatible bucket through boto3 (`s3://[key:secret@]bucket?endpoint=&region=`).

Keys are made by the API (`new_key`), never from a client's file name, so
no name can reach a path. Files are written from the upload's temporary
file, in chunks, and read back the same way.
"""
from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO, Iterable, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

KEY = re.compile(r"[0-9a-f]{32}(\.thumb)?")
CHUNK = 64 * 1024


def new_key() -> str:
    return uuid.uuid4().hex


class Storage(Protocol):
    def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        """Store `source` (read from where it is to its end) under `key`."""

    def open(self, key: str) -> BinaryIO:
        """The stored bytes, to stream."""

    def delete(self, keys: Iterable[str]) -> None:
        """Remove these keys; a missing one is not an error."""

    def signed_url(self, key: str, *, content_type: str, disposition: str, seconds: int) -> str | None:
        """A short-lived URL that serves the file without our token, or None: stream it."""


def _checked(key: str) -> str:
    if not KEY.fullmatch(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class FileStorage:
    """Files under one directory, two levels of fan-out (`ab/abcdef...`)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)[:2] / key

    def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        partial = path.with_name(f"{key}.{uuid.uuid4().hex[:8]}.part")
        try:
            with partial.open("wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
            os.replace(partial, path)  # readers see the whole file or none
        finally:
            partial.unlink(missing_ok=True)

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def signed_url(self, key: str, *, content_type: str, disposition: str, seconds: int) -> str | None:
        return None


class S3Storage:
    """A bucket on any S3-compatible service; downloads are presigned URLs."""

    def __init__(self, bucket: str, *, endpoint: str | None = None, region: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None) -> None:
        import boto3  # only deployments on S3 pay for importing it
        from botocore.config import Config as BotoConfig

        self.bucket = bucket
        self.client = boto3.client(
            "s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=BotoConfig(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"}),
        )

    def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        self.client.upload_fileobj(source, self.bucket, _checked(key), ExtraArgs={"ContentType": content_type})

    def open(self, key: str) -> BinaryIO:
        return self.client.get_object(Bucket=self.bucket, Key=_checked(key))["Body"]

    def delete(self, keys: Iterable[str]) -> None:
        keys = [_checked(key) for key in keys]
        for start in range(0, len(keys), 1000):  # the most one DeleteObjects takes
            batch = [{"Key": key} for key in keys[start:start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def signed_url(self, key: str, *, content_type: str, disposition: str, seconds: int) -> str | None:
        return self.client.generate_presigned_url(
            "get_object", ExpiresIn=seconds,
            Params={"Bucket": self.bucket, "Key": _checked(key), "ResponseContentType": content_type,
                    "ResponseContentDisposition": disposition},
        )


def make_storage(url: str) -> Storage:
    """The storage a STORAGE_URL names (shared/config.py has validated its form)."""
    if url.startswith("file://"):
        return FileStorage(os.path.abspath(url[len("file://"):]))
    parts = urlsplit(url)
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    return S3Storage(
        parts.hostname or "", endpoint=query.get("endpoint"), region=query.get("region"),
        access_key=unquote(parts.username) if parts.username else None,
        secret_key=unquote(parts.password) if parts.password else None,
    )
