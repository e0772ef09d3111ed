"""Webhooks to the PHP site: `/webhooks` and their deliveries (admin and service)."""
from __future__ import annotations

from api.delivery import registration
from api.delivery.schemas import (
    DeliveryOut,
    DeliveryPage,
    DeliveryQuery,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookPage,
    WebhookQuery,
)
from api.docs import Blueprint
from api.extensions import db

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1",
                description="Webhooks: events POSTed to your URL, signed per Standard Webhooks")


@blp.route("/webhooks", methods=["POST"])
@blp.authenticated("admin", "service", service_writes=True)
@blp.arguments(WebhookCreate)
@blp.response(201, WebhookCreated)
def create_webhook(args):
    """Register a URL for event types; the `secret` is shown only in this answer."""
    webhook = registration.register(args["url"], args["types"])
    db.session.commit()
    return webhook


@blp.route("/webhooks")
@blp.authenticated("admin", "service")
@blp.arguments(WebhookQuery, location="query")
@blp.response(200, WebhookPage)
def list_webhooks(query):
    """Registered webhooks, newest first (without their secrets)."""
    return registration.page(query.get("before"), query["limit"])


@blp.route("/webhooks/<int:webhook_id>")
@blp.authenticated("admin", "service")
@blp.response(200, WebhookOut)
@blp.errors(404)
def get_webhook(webhook_id):
    """One webhook (without its secret)."""
    return registration.get_or_404(webhook_id)


@blp.route("/webhooks/<int:webhook_id>", methods=["DELETE"])
@blp.authenticated("admin", "service", service_writes=True)
@blp.response(204)
@blp.errors(404)
def delete_webhook(webhook_id):
    """Remove a webhook; its pending deliveries are dropped."""
    registration.remove(registration.get_or_404(webhook_id))
    db.session.commit()


@blp.route("/webhooks/<int:webhook_id>/deliveries")
@blp.authenticated("admin", "service")
@blp.arguments(DeliveryQuery, location="query")
@blp.response(200, DeliveryPage)
@blp.errors(404)
def list_deliveries(query, webhook_id):
    """A webhook's deliveries, newest first: attempts, last status code and error, next retry."""
    webhook = registration.get_or_404(webhook_id)
    return registration.deliveries(webhook, query.get("status"), query.get("before"), query["limit"])


@blp.route("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/retry", methods=["POST"])
@blp.authenticated("admin", "service", service_writes=True)
@blp.response(200, DeliveryOut)
@blp.errors(404, 409)
def retry_delivery(webhook_id, delivery_id):
    """Send a delivery again now (one more attempt for a parked one)."""
    delivery = registration.retry(registration.get_or_404(webhook_id), delivery_id)
    db.session.commit()
    return delivery
