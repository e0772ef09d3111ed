"""Input schemas of the messaging endpoints (shape only; rules live in the ops modules)."""
from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import validate

from api.messaging import MAX_ID, MAX_PRINCIPAL_ID, MEMBER_ROLES

CURSOR = re.compile(r"^\d{1,19}_\d{1,19}$")


def no_surrogates(value: str) -> None:
    # A lone surrogate (valid JSON "\ud800") cannot be encoded for the database.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ma.ValidationError("contains an invalid character") from None


def Text(**kwargs) -> ma.fields.String:  # noqa: N802 - a field factory reads like a field
    validators = [no_surrogates, *kwargs.pop("validate", [])]
    return ma.fields.String(validate=validators, **kwargs)


def Id(strict: bool = True, **kwargs) -> ma.fields.Integer:  # noqa: N802
    # Strict in JSON bodies (no "12" for 12); query strings are always text.
    return ma.fields.Integer(strict=strict, validate=validate.Range(1, MAX_ID), **kwargs)


def Limit(default: int, maximum: int) -> ma.fields.Integer:  # noqa: N802
    return ma.fields.Integer(load_default=default, validate=validate.Range(1, maximum))


class PrincipalIn(ma.Schema):
    role = ma.fields.String(required=True, validate=validate.OneOf(MEMBER_ROLES))
    id = ma.fields.Integer(required=True, strict=True, validate=validate.Range(1, MAX_PRINCIPAL_ID))


class ConversationCreate(ma.Schema):
    type = ma.fields.String(required=True, validate=validate.OneOf(["direct", "group"]))
    participants = ma.fields.List(ma.fields.Nested(PrincipalIn), required=True, validate=validate.Length(1, 200))
    title = Text(validate=[validate.Length(1, 200)], allow_none=True)


class ParticipantsAdd(ma.Schema):
    participants = ma.fields.List(ma.fields.Nested(PrincipalIn), required=True, validate=validate.Length(1, 200))


class ConversationListQuery(ma.Schema):
    limit = Limit(20, 100)
    before = ma.fields.String(validate=validate.Regexp(CURSOR, error="not a cursor from next_before"))


class MessageListQuery(ma.Schema):
    before = Id(strict=False)
    after = Id(strict=False)
    limit = Limit(50, 100)


class MessageCreate(ma.Schema):
    # Length is checked against the configured maximum in message_ops.
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


class BlockIn(PrincipalIn):
    pass


class BroadcastCreate(ma.Schema):
    audience = ma.fields.String(required=True, validate=validate.OneOf(["all", "mentors", "students"]))
    title = Text(required=True, validate=[validate.Length(1, 200)])
    body = Text(required=True, validate=[validate.Length(1, 10_000)])
