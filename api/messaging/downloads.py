"""Serving an attachment (`GET /attachments/{id}`): a redirect to a short-lived
signed URL where the storage makes them (S3), else the file streamed from
storage. Either way the browser is told the type we sniffed, not to sniff
its own (`nosniff`), and to download rather than render anything but images.
"""
from __future__ import annotations

import os
import unicodedata
from urllib.parse import quote

from flask import Response, current_app, redirect, request
from werkzeug.wsgi import wrap_file

from api.auth import app_config
from api.messaging.file_checks import THUMBNAIL_TYPE
from api.messaging.storage import CHUNK
from shared.errors import NotFound
from shared.models import Attachment

SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Opened directly, a file runs no script and loads nothing, whatever it holds.
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, max-age=300",
}


def content_disposition(name: str, content_type: str) -> str:
    """`inline` for images, `attachment` for the rest, with an ASCII name and the
    real one in `filename*` (RFC 6266). Names hold no quotes' escapes or controls
    worth keeping: anything but plain ASCII letters, digits and `._-()` becomes `_`."""
    kind = "inline" if content_type.startswith("image/") else "attachment"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(c if c.isalnum() or c in "._-() " else "_" for c in ascii_name).strip() or "file"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _file_size(stream) -> int | None:
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return None


def serve(attachment: Attachment, thumbnail: bool) -> Response:
    key = attachment.thumbnail_key if thumbnail else attachment.storage_key
    if key is None:
        raise NotFound("this attachment has no thumbnail", code="thumbnail_not_found")
    content_type = THUMBNAIL_TYPE if thumbnail else attachment.content_type
    disposition = content_disposition(attachment.name, content_type)
    storage = current_app.extensions["storage"]
    signed = storage.signed_url(key, content_type=content_type, disposition=disposition,
                                seconds=app_config().attachment_url_seconds)
    if signed is not None:
        response = redirect(signed, 302)
        response.headers["Cache-Control"] = "no-store"  # the URL expires; ask us again next time
        return response
    try:
        stream = storage.open(key)
    except FileNotFoundError:  # removed behind our back (by hand, a restore): as if deleted
        raise NotFound("attachment not found", code="attachment_not_found") from None
    response = Response(wrap_file(request.environ, stream, CHUNK), mimetype=content_type, direct_passthrough=True)
    response.content_length = _file_size(stream)
    response.headers["Content-Disposition"] = disposition
    response.headers.update(SAFE_HEADERS)
    return response
