"""Web Push: the VAPID public key browsers subscribe with, and the caller's subscriptions."""
from __future__ import annotations

import functools

from api.auth import app_config, current_principal
from api.delivery import subscribing
from api.delivery.push_schemas import PushSubscriptionIn, PushSubscriptionList, PushSubscriptionOut, VapidKeyOut
from api.docs import Blueprint
from api.extensions import db
from shared import vapid
from shared.errors import NotFound

blp = Blueprint("push", __name__, url_prefix="/api/v1", description="Web Push subscriptions")


@functools.cache
def _public_key(path: str) -> str:
    return vapid.public_key(vapid.load(path))


@blp.route("/push/vapid-public-key")
@blp.doc(security=[])
@blp.response(200, VapidKeyOut)
@blp.errors(404)
def vapid_public_key():
    """The key to pass as `applicationServerKey` to `pushManager.subscribe` (no token needed); 404 when push is off."""
    path = app_config().vapid_private_key_file
    if not path:
        raise NotFound("Web Push is not configured here", code="push_disabled")
    return {"public_key": _public_key(path)}


@blp.route("/push/subscriptions")
@blp.authenticated()
@blp.response(200, PushSubscriptionList)
def list_subscriptions():
    """The caller's push subscriptions."""
    return {"subscriptions": subscribing.subscriptions_of(current_principal())}


@blp.route("/push/subscriptions", methods=["POST"])
@blp.authenticated()
@blp.arguments(PushSubscriptionIn)
@blp.response(201, PushSubscriptionOut, description="Subscribed.")
@blp.alt_response(200, schema=PushSubscriptionOut, description="This browser was subscribed: updated.", success=True)
def create_subscription(body):
    """Register a browser's PushSubscription for the caller (200 when its endpoint is known: keys updated)."""
    row, created = subscribing.subscribe(current_principal(), body)
    db.session.commit()
    return row, 201 if created else 200


@blp.route("/push/subscriptions/<int(max=9223372036854775807):subscription_id>", methods=["DELETE"])
@blp.authenticated()
@blp.response(204)
@blp.errors(404)
def delete_subscription(subscription_id):
    """Remove one of the caller's subscriptions (on logout, or when the browser unsubscribes)."""
    db.session.delete(subscribing.own_subscription(current_principal(), subscription_id))
    db.session.commit()
