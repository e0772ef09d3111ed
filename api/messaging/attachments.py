"""Attachments: upload a file (multipart), fetch it or its thumbnail."""
from __future__ import annotations

from api.auth import current_principal
from api.docs import Blueprint
from api.extensions import db
from api.inputs import streams_body
from api.messaging import attaching, downloads, uploads
from api.messaging.schemas import AttachmentOut, AttachmentQuery
from api.schemas import ErrorSchema

blp = Blueprint("attachments", __name__, url_prefix="/api/v1", description="Attachments")
ATTACHMENT = "/attachments/<int(max=9223372036854775807):attachment_id>"

UPLOAD_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"}},
    }}},
}
FILE_RESPONSES = {
    "200": {"description": "The file (or its thumbnail), streamed, with `X-Content-Type-Options: nosniff`.",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
    "302": {"description": "A short-lived signed URL that serves the file (S3 storage).",
            "headers": {"Location": {"schema": {"type": "string"}}}},
}


@blp.route("/attachments", methods=["POST"])
@blp.authenticated()
@blp.doc(requestBody=UPLOAD_BODY)
@blp.response(201, AttachmentOut, description="Stored; send it with a message by its `id`.")
@blp.alt_response(413, schema=ErrorSchema, description="The file is larger than `ATTACHMENT_MAX_BYTES`.")
@blp.errors(409, 415, 422, 503)
@streams_body
def upload_attachment():
    """Upload a file (multipart field `file`); its type is judged from its content."""
    attachment = uploads.receive(current_principal())
    db.session.commit()
    return attachment


@blp.route(ATTACHMENT)
@blp.authenticated()
@blp.arguments(AttachmentQuery, location="query")
@blp.doc(responses=FILE_RESPONSES)
@blp.errors(404)
def get_attachment(args, attachment_id):
    """The file, for the participants who can read its message (the uploader before it is sent)."""
    attachment = attaching.visible_attachment(attachment_id, current_principal())
    return downloads.serve(attachment, args["thumbnail"])
