"""The shapes of the messaging endpoints (shape only; rules live in the logic modules)."""
from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import validate

from api.schemas import Id, Limit, MemberSchema, PrincipalSchema, Text
from shared import rooms
from shared.models import Message
from shared.timeutil import isoformat_z

CURSOR = re.compile(r"^\d{1,19}_\d{1,19}$")
TYPE_PATTERN = r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$"
_NAMED_ROOMS = "|".join([rooms.ADMINS, *rooms.AUDIENCE_ROOMS.values()])
ROOM_PATTERN = rf"^({_NAMED_ROOMS}|(conversation|mentor|student|admin|service):[1-9][0-9]{{0,18}})$"


class ConversationCreate(ma.Schema):
    type = ma.fields.String(required=True, validate=validate.OneOf(["direct", "group"]))
    participants = ma.fields.List(ma.fields.Nested(MemberSchema), required=True, validate=validate.Length(1, 200))
    title = Text(validate=[validate.Length(1, 200)], allow_none=True)


class ParticipantsAdd(ma.Schema):
    participants = ma.fields.List(ma.fields.Nested(MemberSchema), required=True, validate=validate.Length(1, 200))


class ConversationListQuery(ma.Schema):
    limit = Limit(20, 100)
    before = ma.fields.String(validate=validate.Regexp(CURSOR, error="not a cursor from next_before"))


class MessageListQuery(ma.Schema):
    before = Id(strict=False)
    after = Id(strict=False)
    limit = Limit(50, 100)


class MessageCreate(ma.Schema):
    # Length is checked against the configured maximum in sending.check_body.
    body = Text(required=True)
    parent_id = Id(allow_none=True)
    client_msg_id = Text(validate=[validate.Length(1, 64)], allow_none=True)


class MessageEdit(ma.Schema):
    body = Text(required=True)


class ReadMarker(ma.Schema):
    message_id = Id(required=True)


class SearchQuery(ma.Schema):
    q = Text(required=True, validate=[validate.Length(1, 200)])
    limit = Limit(20, 100)
    before = Id(strict=False)


class NotificationQuery(ma.Schema):
    unread = ma.fields.Boolean()
    limit = Limit(50, 100)
    before = Id(strict=False)


class NotificationsRead(ma.Schema):
    ids = ma.fields.List(Id(), validate=validate.Length(1, 500))
    all = ma.fields.Boolean()

    @ma.validates_schema
    def one_of(self, data, **kwargs):
        if not data.get("ids") and not data.get("all"):
            raise ma.ValidationError("give `ids` or `all: true`", "_schema")


class BlockIn(MemberSchema):
    pass


class BroadcastCreate(ma.Schema):
    audience = ma.fields.String(required=True, validate=validate.OneOf(["all", "mentors", "students"]))
    title = Text(required=True, validate=[validate.Length(1, 200)])
    body = Text(required=True, validate=[validate.Length(1, 10_000)])


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


class EventsQuery(ma.Schema):
    after = ma.fields.Integer(load_default=0, validate=validate.Range(0, 2**63 - 1))
    limit = ma.fields.Integer(load_default=100, validate=validate.Range(1, 1000))


def message_dict(m: Message) -> dict:
    deleted = m.deleted_at is not None
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "sender": {"role": m.sender_role, "id": m.sender_id},
        "body": None if deleted else m.body,
        "parent_id": m.parent_id,
        "reply_count": m.reply_count,
        "client_msg_id": m.client_msg_id,
        "created_at": isoformat_z(m.created_at),
        "edited_at": isoformat_z(m.edited_at),
        "deleted_at": isoformat_z(m.deleted_at),
    }
