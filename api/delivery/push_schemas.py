"""The shapes of the Web Push and unsubscribe endpoints."""
from __future__ import annotations

import base64
import binascii

import marshmallow as ma
from cryptography.hazmat.primitives.asymmetric import ec
from marshmallow import validate

from api.schemas import Flag, Integer, OutSchema, Timestamp

MAX_SUBSCRIPTION_URL = 2000


def _b64url(value: str) -> bytes:
    if not value.isascii() or any(c in value for c in "+/ \t\r\n"):
        raise ma.ValidationError("URL-safe base64, as PushSubscription.toJSON() gives it")
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise ma.ValidationError("URL-safe base64, as PushSubscription.toJSON() gives it") from None


def _p256dh(value: str) -> None:
    raw = _b64url(value)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise ma.ValidationError("not an uncompressed P-256 public key (65 bytes)") from None
    if len(raw) != 65:
        raise ma.ValidationError("not an uncompressed P-256 public key (65 bytes)")


def _auth_secret(value: str) -> None:
    if len(_b64url(value)) != 16:
        raise ma.ValidationError("the auth secret is 16 bytes")


class SubscriptionKeysIn(ma.Schema):
    p256dh = ma.fields.String(required=True, validate=[validate.Length(max=128), _p256dh])
    auth = ma.fields.String(required=True, validate=[validate.Length(max=64), _auth_secret])


class PushSubscriptionIn(ma.Schema):
    """A browser's `PushSubscription.toJSON()`, plus whether pushes may show message text on this device."""

    endpoint = ma.fields.String(required=True, validate=validate.Length(1, MAX_SUBSCRIPTION_URL))
    keys = ma.fields.Nested(SubscriptionKeysIn, required=True)
    # Sent by browsers; push services expire subscriptions themselves (a 404/410 then removes it).
    expirationTime = Integer(allow_none=True, load_default=None, data_key="expirationTime",  # noqa: N815
                             attribute="expiration_time")
    previews = Flag(load_default=True)


class PushSubscriptionOut(OutSchema):
    id = ma.fields.Integer()
    endpoint = ma.fields.String()
    previews = ma.fields.Boolean()
    created_at = Timestamp()


class PushSubscriptionList(OutSchema):
    subscriptions = ma.fields.List(ma.fields.Nested(PushSubscriptionOut))


class VapidKeyOut(OutSchema):
    public_key = ma.fields.String(metadata={"description": "URL-safe base64: `applicationServerKey`"})


class UnsubscribeQuery(ma.Schema):
    token = ma.fields.String(required=True, validate=validate.Length(1, 200))


class UnsubscribeOut(OutSchema):
    unsubscribed = ma.fields.Boolean()
    email = ma.fields.String(metadata={"description": "the email preference now (`off` once unsubscribed)"})
