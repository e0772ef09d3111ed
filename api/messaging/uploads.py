"""Receiving an upload (`POST /attachments`): the multipart body streamed to
a temporary file on disk (never held whole in memory), refused with 413 as
soon as it passes ATTACHMENT_MAX_BYTES, checked by content
(api/messaging/file_checks.py), then stored with its thumbnail and recorded.

This route alone reads more than MAX_BODY_BYTES: `streams_body` marks it, so
the app-wide chunked-body check (api/inputs.py) leaves its stream alone and
the limit below applies instead, to sized and chunked bodies alike.
"""
from __future__ import annotations

import logging
import tempfile

from flask import current_app, request
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage as Part
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.wsgi import get_input_stream

from api.auth import app_config
from api.extensions import db
from api.messaging import file_checks
from api.messaging.attaching import files_written
from api.messaging.storage import new_key
from shared.auth import Principal
from shared.errors import Conflict, Invalid, TooLarge, Unavailable, UnsupportedType
from shared.models import Attachment

log = logging.getLogger(__name__)
# Part headers and boundaries around the file, on top of ATTACHMENT_MAX_BYTES.
MULTIPART_ALLOWANCE = 64 * 1024
MAX_PARTS = 8
# A form field that is not a file; werkzeug also holds each 64 KiB read of the body to it.
MAX_FIELD_BYTES = 256 * 1024


def body_limit() -> int:
    return app_config().attachment_max_bytes + MULTIPART_ALLOWANCE


def _spool_to_disk(total_content_length, content_type, filename, content_length=None):
    return tempfile.TemporaryFile("w+b")


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the file is larger than {limit} bytes", details={"file": [f"at most {limit} bytes"]})


def _file_part() -> Part:
    if request.mimetype != "multipart/form-data":
        raise UnsupportedType("send the file as multipart/form-data, in the field `file`", code="multipart_required")
    limit = body_limit()
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(app_config().attachment_max_bytes)  # said up front: refused before reading
    parser = FormDataParser(_spool_to_disk, max_form_memory_size=MAX_FIELD_BYTES, max_content_length=limit,
                            max_form_parts=MAX_PARTS)
    stream = get_input_stream(request.environ, max_content_length=limit)
    try:
        _, _, files = parser.parse(stream, request.mimetype, request.content_length, request.mimetype_params)
    except RequestEntityTooLarge:  # a chunked body that ran past the limit, or an oversized form field
        raise _too_large(app_config().attachment_max_bytes) from None
    parts = files.getlist("file")
    for extra in parts[1:] + [p for name, p in files.items(multi=True) if name != "file"]:
        extra.close()
    if len(parts) != 1:
        raise Invalid("send one file in the field `file`", details={"file": [
            "Missing data for required field." if not parts else "one file only"]})
    return parts[0]


def _size(part: Part) -> int:
    part.stream.seek(0, 2)
    return part.stream.tell()


def _check_unsent(uploader: Principal, limit: int) -> None:
    """A soft cap (concurrent uploads may pass it by a few), checked before the body is read."""
    unsent = db.session.execute(
        select(func.count()).select_from(Attachment).where(
            Attachment.message_id.is_(None), Attachment.uploader_role == uploader.role,
            Attachment.uploader_id == uploader.id)
    ).scalar_one()
    if unsent >= limit:
        raise Conflict(f"you have {unsent} uploads not sent yet; send or wait for them to expire",
                       code="too_many_unsent_uploads", details={"limit": limit})


def receive(uploader: Principal) -> Attachment:
    """Store the request's file for `uploader` (unattached) and add its row to the session."""
    config = app_config()
    _check_unsent(uploader, config.attachment_unsent_max)
    part = _file_part()
    try:
        size = _size(part)
        if size > config.attachment_max_bytes:
            raise _too_large(config.attachment_max_bytes)
        if size == 0:
            raise Invalid("the file is empty", code="file_empty", details={"file": ["empty"]})
        name = file_checks.file_name(part.filename)
        checked = file_checks.check(part.stream, name, config.attachment_types)
        attachment = Attachment(
            uploader_role=uploader.role, uploader_id=uploader.id, name=checked.name,
            content_type=checked.content_type, size=size, width=checked.width, height=checked.height,
            storage_key=new_key(), thumbnail_key=new_key() + ".thumb" if checked.thumbnail else None,
        )
        _store(attachment, part, checked)
    finally:
        part.close()
    db.session.add(attachment)
    db.session.flush()
    return attachment


def _store(attachment: Attachment, part: Part, checked: file_checks.Checked) -> None:
    storage = current_app.extensions["storage"]
    keys = [k for k in (attachment.storage_key, attachment.thumbnail_key) if k]
    files_written(keys)
    try:
        storage.put(attachment.storage_key, part.stream, checked.content_type)
        if checked.thumbnail is not None:
            storage.put(attachment.thumbnail_key, checked.thumbnail, file_checks.THUMBNAIL_TYPE)
    except Exception as exc:  # noqa: BLE001 - whatever the backend raises (OSError, botocore's errors)
        log.error("attachment storage refused a file: %s", exc)
        try:
            storage.delete(keys)  # nothing half-stored stays behind
        except Exception:  # noqa: BLE001 - the storage is down: the same failure again
            log.warning("could not remove the partial upload %s", keys)
        raise Unavailable("the file storage is unavailable; try again", code="storage_unavailable") from None
