"""Schema pieces both domains use: the principal, ids, limits, text checks and the error shape."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

ROLES = ("mentor", "student", "admin", "service")
# Who can be in a conversation (services publish events, they do not chat).
MEMBER_ROLES = ("mentor", "student", "admin")
MAX_ID = 2**63 - 1  # BIGINT ids: messages, events, notifications, activities
MAX_PRINCIPAL_ID = 2**31 - 1  # INT ids: principals, relationships, goals


def no_surrogates(value: str) -> None:
    # A lone surrogate (valid JSON "\ud800") cannot be encoded for the database.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ma.ValidationError("contains an invalid character") from None


def not_blank(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError("must not be blank")


def Text(**kwargs) -> ma.fields.String:  # noqa: N802 - a field factory reads like a field
    """A string the database can store (no lone surrogates)."""
    validators = [no_surrogates, *kwargs.pop("validate", [])]
    return ma.fields.String(validate=validators, **kwargs)


def Id(strict: bool = True, **kwargs) -> ma.fields.Integer:  # noqa: N802
    """A BIGINT row id; strict in JSON bodies (no "12" for 12), query strings are always text."""
    return ma.fields.Integer(strict=strict, validate=validate.Range(1, MAX_ID), **kwargs)


def PrincipalId(**kwargs) -> ma.fields.Integer:  # noqa: N802
    return ma.fields.Integer(strict=True, validate=validate.Range(1, MAX_PRINCIPAL_ID), **kwargs)


def Limit(default: int, maximum: int) -> ma.fields.Integer:  # noqa: N802
    return ma.fields.Integer(load_default=default, validate=validate.Range(1, maximum))


class PrincipalSchema(ma.Schema):
    """`{"role", "id"}`: who a token names, who is addressed, who did something."""

    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))
    id = PrincipalId(required=True)


class MemberSchema(PrincipalSchema):
    """A principal who can take part in a conversation (or be blocked)."""

    role = ma.fields.String(required=True, validate=validate.OneOf(MEMBER_ROLES))


class ErrorBody(ma.Schema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    details = ma.fields.Dict()


class ErrorSchema(ma.Schema):
    """The one error shape: `{"error": {"code", "message", "details"}}`."""

    error = ma.fields.Nested(ErrorBody, required=True)
