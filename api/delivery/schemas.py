"""The shapes of the webhook endpoints (shape only; rules live in api/delivery/registration.py)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.messaging.schemas import TYPE_PATTERN
from api.schemas import Id, Limit, OutSchema, PrincipalRef, Timestamp
from shared.outbound import MAX_URL_CHARS
from shared.timeutil import isoformat_z

MAX_TYPES = 100
STATUSES = ("pending", "sent", "failed")


class WebhookCreate(ma.Schema):
    url = ma.fields.String(required=True, validate=validate.Length(1, MAX_URL_CHARS))
    types = ma.fields.List(
        ma.fields.String(validate=validate.Regexp(rf"{TYPE_PATTERN}|^\*$",
                                                  error="an event type `resource:verb`, or `*` for all")),
        required=True, validate=validate.Length(1, MAX_TYPES),
        metadata={"description": "event types (e.g. `message:created`, `presence:online`, `presence:offline`), "
                              "or `[\"*\"]` for every event"},
    )


class WebhookOut(OutSchema):
    id = ma.fields.Integer()
    url = ma.fields.String()
    types = ma.fields.List(ma.fields.String())
    created_by = PrincipalRef("created_by_role", "created_by_id")
    created_at = Timestamp()


class WebhookCreated(WebhookOut):
    secret = ma.fields.String(metadata={"description": "`whsec_...`: shown only here; verify signatures with it"})


class WebhookQuery(ma.Schema):
    before = Id(strict=False)
    limit = Limit(50, 100)


class WebhookPage(OutSchema):
    webhooks = ma.fields.List(ma.fields.Nested(WebhookOut))
    next_before = ma.fields.Integer(allow_none=True)


class DeliveryQuery(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    before = Id(strict=False)
    limit = Limit(50, 100)


class DeliveryOut(OutSchema):
    id = ma.fields.Integer()
    event_id = ma.fields.Integer()
    event_type = ma.fields.String()
    status = ma.fields.String(metadata={"description": "pending, sent, or failed (parked: retries spent)"})
    attempts = ma.fields.Integer()
    next_attempt_at = ma.fields.Method("_next_attempt", allow_none=True,
                                       metadata={"description": "the next try (ISO 8601 UTC), while pending"})
    last_status_code = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    delivered_at = Timestamp(allow_none=True)
    created_at = Timestamp()


    def _next_attempt(self, delivery):
        # A next attempt means something only while one is coming.
        return isoformat_z(delivery.next_attempt_at) if delivery.status == "pending" else None


class DeliveryPage(OutSchema):
    deliveries = ma.fields.List(ma.fields.Nested(DeliveryOut))
    next_before = ma.fields.Integer(allow_none=True)
