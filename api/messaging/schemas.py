"""The shapes of the messaging endpoints (shape only; rules live in the logic modules)."""
from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import validate

from api.schemas import (
    MAX_ID,
    DictOrEmpty,
    Flag,
    Id,
    Limit,
    MemberSchema,
    Number,
    OutSchema,
    PrincipalRef,
    PrincipalSchema,
    Timestamp,
)
from shared import rooms

CURSOR = re.compile(r"^\d{1,19}_\d{1,19}$")
TYPE_PATTERN = r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$"
_NAMED_ROOMS = "|".join([rooms.ADMINS, *rooms.AUDIENCE_ROOMS.values()])
ROOM_PATTERN = rf"^({_NAMED_ROOMS}|(conversation|mentor|student|admin|service):[1-9][0-9]{{0,18}})$"


class ConversationCreate(ma.Schema):
    type = ma.fields.String(required=True, validate=validate.OneOf(["direct", "group"]))
    participants = ma.fields.List(ma.fields.Nested(MemberSchema), required=True, validate=validate.Length(1, 200))
    title = ma.fields.String(validate=[validate.Length(1, 200)], allow_none=True)


class ParticipantsAdd(ma.Schema):
    participants = ma.fields.List(ma.fields.Nested(MemberSchema), required=True, validate=validate.Length(1, 200))


class ConversationListQuery(ma.Schema):
    limit = Limit(20, 100)
    before = ma.fields.String(validate=validate.Regexp(CURSOR, error="not a cursor from next_before"))


class MessageListQuery(ma.Schema):
    before = Id(strict=False)
    after = Id(strict=False)
    limit = Limit(50, 100)


def _distinct(ids: list[int]) -> None:
    if len(set(ids)) != len(ids):
        raise ma.ValidationError("ids must be distinct")


class MessageCreate(ma.Schema):
    # Length is checked against the configured maximum in sending.check_body;
    # a message with attachments may have no text.
    body = ma.fields.String()
    parent_id = Id(allow_none=True)
    client_msg_id = ma.fields.String(validate=[validate.Length(1, 64)], allow_none=True)
    attachment_ids = ma.fields.List(Id(), load_default=list, validate=[validate.Length(max=10), _distinct])

    @ma.validates_schema
    def body_or_files(self, data, **kwargs):
        if "body" not in data and not data.get("attachment_ids"):
            raise ma.ValidationError("Missing data for required field.", "body")


class MessageEdit(ma.Schema):
    body = ma.fields.String(required=True)


class ReadMarker(ma.Schema):
    message_id = Id(required=True)


class SearchQuery(ma.Schema):
    q = ma.fields.String(required=True, validate=[validate.Length(1, 200)])
    limit = Limit(20, 100)
    before = Id(strict=False)


class NotificationQuery(ma.Schema):
    unread = Flag(strict=False)
    limit = Limit(50, 100)
    before = Id(strict=False)


class NotificationsRead(ma.Schema):
    ids = ma.fields.List(Id(), validate=validate.Length(1, 500))
    all = Flag()

    @ma.validates_schema
    def one_of(self, data, **kwargs):
        if not data.get("ids") and not data.get("all"):
            raise ma.ValidationError("give `ids` or `all: true`", "_schema")


class BlockIn(MemberSchema):
    pass


class BroadcastCreate(ma.Schema):
    audience = ma.fields.String(required=True, validate=validate.OneOf(["all", "mentors", "students"]))
    title = ma.fields.String(required=True, validate=[validate.Length(1, 200)])
    body = ma.fields.String(required=True, validate=[validate.Length(1, 10_000)])


class EventIn(ma.Schema):
    room = ma.fields.String(validate=validate.Regexp(ROOM_PATTERN, error="not a room name"))
    to = ma.fields.Nested(PrincipalSchema)
    type = ma.fields.String(
        required=True,
        validate=[validate.Length(max=64), validate.Regexp(TYPE_PATTERN, error="type is `resource:verb`")],
    )
    data = ma.fields.Dict(load_default=dict)

    @ma.validates_schema
    def one_target(self, values, **kwargs):
        if ("room" in values) == ("to" in values):
            raise ma.ValidationError("give exactly one of `room` or `to`", "room")


class AttachmentQuery(ma.Schema):
    thumbnail = Flag(strict=False, load_default=False)


class EventsQuery(ma.Schema):
    after = Number(0, MAX_ID, strict=False, load_default=0)
    limit = Limit(100, 1000)


# Out

class _BodyUnlessDeleted(ma.fields.String):
    """The body, or null once the message is deleted."""

    _CHECK_ATTRIBUTE = False

    def _serialize(self, value, attr, obj, **kwargs):
        return None if obj.deleted_at is not None else obj.body


class _AttachmentUrl(ma.fields.String):
    """Where the file (or its thumbnail, null when there is none) is fetched, with the caller's token."""

    _CHECK_ATTRIBUTE = False

    def __init__(self, thumbnail: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.thumbnail = thumbnail

    def _serialize(self, value, attr, obj, **kwargs):
        if not self.thumbnail:
            return f"/api/v1/attachments/{obj.id}"
        return f"/api/v1/attachments/{obj.id}?thumbnail=1" if obj.thumbnail_key else None


class AttachmentOut(OutSchema):
    """An uploaded file; `width`, `height` and `thumbnail` for images, null otherwise."""

    id = ma.fields.Integer()
    name = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    width = ma.fields.Integer(allow_none=True)
    height = ma.fields.Integer(allow_none=True)
    url = _AttachmentUrl()
    thumbnail = _AttachmentUrl(thumbnail=True, allow_none=True)


class MessageOut(OutSchema):
    id = ma.fields.Integer()
    conversation_id = ma.fields.Integer()
    sender = PrincipalRef("sender_role", "sender_id")
    body = _BodyUnlessDeleted(allow_none=True)
    parent_id = ma.fields.Integer(allow_none=True)
    reply_count = ma.fields.Integer()
    client_msg_id = ma.fields.String(allow_none=True)
    created_at = Timestamp()
    edited_at = Timestamp(allow_none=True)
    deleted_at = Timestamp(allow_none=True)
    attachments = ma.fields.List(ma.fields.Nested(AttachmentOut))


class MessagePage(OutSchema):
    messages = ma.fields.List(ma.fields.Nested(MessageOut))
    has_more = ma.fields.Boolean()
    order = ma.fields.String(metadata={"enum": ["asc", "desc"]})


class SearchPage(OutSchema):
    messages = ma.fields.List(ma.fields.Nested(MessageOut))
    next_before = ma.fields.Integer(allow_none=True)
    terms = ma.fields.List(ma.fields.String())


class ParticipantOut(OutSchema):
    role = ma.fields.String()
    id = ma.fields.Integer(attribute="principal_id")
    joined_at = Timestamp()
    left_at = Timestamp(allow_none=True)
    last_read_message_id = ma.fields.Integer(allow_none=True)
    last_read_at = Timestamp(allow_none=True)


class ConversationOut(OutSchema):
    """A conversation, with `participants`, `last_message` and `unread` added by api/messaging/inbox.py."""

    id = ma.fields.Integer()
    type = ma.fields.String()
    title = ma.fields.String(allow_none=True)
    owner = PrincipalRef("owner_role", "owner_id", allow_none=True)
    relationship_id = ma.fields.Integer(allow_none=True)
    created_at = Timestamp()
    last_activity_at = Timestamp()
    last_seq = ma.fields.Integer()
    participants = ma.fields.List(ma.fields.Nested(ParticipantOut))
    last_message = ma.fields.Nested(MessageOut, allow_none=True)
    unread = ma.fields.Integer()


class ConversationPage(OutSchema):
    conversations = ma.fields.List(ma.fields.Nested(ConversationOut))
    next_before = ma.fields.String(allow_none=True)


class ConversationSummary(OutSchema):
    """The data of `conversation:created` events: the members as principals."""

    id = ma.fields.Integer()
    type = ma.fields.String()
    title = ma.fields.String(allow_none=True)
    relationship_id = ma.fields.Integer(allow_none=True)
    participants = ma.fields.List(ma.fields.Nested(PrincipalSchema))
    created_at = Timestamp()


class MembersOut(OutSchema):
    conversation_id = ma.fields.Integer()
    participants = ma.fields.List(ma.fields.Nested(ParticipantOut))


class MarkerOut(OutSchema):
    """A read marker (`reader`'s participant row, with the reader added)."""

    conversation_id = ma.fields.Integer()
    principal = ma.fields.Nested(PrincipalSchema)
    last_read_message_id = ma.fields.Integer(allow_none=True)
    last_read_at = Timestamp(allow_none=True)


class UnreadCount(OutSchema):
    id = ma.fields.Integer()
    unread = ma.fields.Integer()


class UnreadOut(OutSchema):
    total = ma.fields.Integer()
    conversations = ma.fields.List(ma.fields.Nested(UnreadCount))
    notifications = ma.fields.Integer()


class NotificationOut(OutSchema):
    id = ma.fields.Integer()
    type = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String(allow_none=True)
    link = ma.fields.String(allow_none=True)
    data = DictOrEmpty()
    created_at = Timestamp()
    read_at = Timestamp(allow_none=True)


class NotificationPage(OutSchema):
    notifications = ma.fields.List(ma.fields.Nested(NotificationOut))
    next_before = ma.fields.Integer(allow_none=True)


class NotificationsReadOut(OutSchema):
    updated = ma.fields.Integer()
    unread = ma.fields.Integer()


class BlockOut(OutSchema):
    principal = PrincipalRef("blocked_role", "blocked_id")
    created_at = Timestamp()


class BlockList(OutSchema):
    blocks = ma.fields.List(ma.fields.Nested(BlockOut))


class BroadcastOut(OutSchema):
    """A broadcast (api/messaging/broadcasting.py); `recipients` only in the response, not in its event."""

    conversation_id = ma.fields.Integer()
    message_id = ma.fields.Integer()
    audience = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String()
    sender = ma.fields.Nested(PrincipalSchema)
    created_at = Timestamp()
    recipients = ma.fields.Integer()


class EventOut(OutSchema):
    """An event envelope, as the gateway delivers it."""

    id = ma.fields.Integer()
    type = ma.fields.String()
    room = ma.fields.String()
    seq = ma.fields.Integer(allow_none=True)
    ts = ma.fields.String()
    data = ma.fields.Dict()
    request_id = ma.fields.String()  # only when the event came from a request


class EventPage(OutSchema):
    events = ma.fields.List(ma.fields.Nested(EventOut))
    last_event_id = ma.fields.Integer()
    more = ma.fields.Boolean()


# One instance each, for the event payloads the logic writes.
message_out = MessageOut()
marker_out = MarkerOut()
notification_out = NotificationOut()
summary_out = ConversationSummary()
broadcast_event_out = BroadcastOut(exclude=("recipients",))
