"""Webhooks: registering, listing, removing, and their deliveries (retry by hand).

The worker (`worker/`) sends; this side only writes what it reads. A webhook
hears about events logged after it was registered (`after_event_id`).
"""
from __future__ import annotations

import base64
import secrets

from sqlalchemy import delete, func, select

from api.auth import app_config, current_principal
from api.extensions import db
from api.paging import fetch_page
from shared.errors import Conflict, Invalid, NotFound
from shared.models import Delivery, Event, Webhook
from shared.outbound import OutboundRefused, check_url
from shared.timeutil import utcnow

CHANNEL = "webhook"


def new_secret() -> str:
    """`whsec_` + base64 of 32 random bytes, as the Standard Webhooks libraries expect."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def register(url: str, types: list[str]) -> Webhook:
    """A new webhook (not committed); 422 for a URL we would not call."""
    try:
        check_url(url, app_config().outbound_allow_private)
    except OutboundRefused as exc:
        raise Invalid(f"url {exc}", details={"url": [str(exc)]}) from None
    principal = current_principal()
    types = ["*"] if "*" in types else list(dict.fromkeys(types))
    webhook = Webhook(url=url, types=types, secret=new_secret(), created_by_role=principal.role,
                      created_by_id=principal.id, created_at=utcnow(),
                      after_event_id=db.session.execute(select(func.max(Event.id))).scalar() or 0)
    db.session.add(webhook)
    return webhook


def get_or_404(webhook_id: int) -> Webhook:
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None:
        raise NotFound("no such webhook")
    return webhook


def page(before: int | None, limit: int) -> dict:
    stmt = select(Webhook).order_by(Webhook.id.desc())
    if before is not None:
        stmt = stmt.where(Webhook.id < before)
    webhooks, more = fetch_page(stmt, limit)
    return {"webhooks": webhooks, "next_before": webhooks[-1].id if more else None}


def remove(webhook: Webhook) -> None:
    """The webhook and its deliveries (pending ones are not sent)."""
    db.session.execute(delete(Delivery).where(Delivery.channel == CHANNEL, Delivery.target == str(webhook.id)))
    db.session.delete(webhook)


def _of(webhook: Webhook):
    return select(Delivery).where(Delivery.channel == CHANNEL, Delivery.target == str(webhook.id))


def deliveries(webhook: Webhook, status: str | None, before: int | None, limit: int) -> dict:
    stmt = _of(webhook).order_by(Delivery.id.desc())
    if status is not None:
        stmt = stmt.where(Delivery.status == status)
    if before is not None:
        stmt = stmt.where(Delivery.id < before)
    rows, more = fetch_page(stmt, limit)
    return {"deliveries": rows, "next_before": rows[-1].id if more else None}


def retry(webhook: Webhook, delivery_id: int) -> Delivery:
    """Send again now: a parked delivery gets one more attempt, a sent one is sent again
    (receivers dedupe by `webhook-id`); 409 while a worker is sending it."""
    delivery = db.session.execute(_of(webhook).where(Delivery.id == delivery_id)).scalar_one_or_none()
    if delivery is None:
        raise NotFound("no such delivery of this webhook")
    now = utcnow()
    if delivery.status == "pending" and delivery.leased_until is not None and delivery.leased_until > now:
        raise Conflict("a worker is sending this delivery now", code="delivery_in_flight")
    delivery.status, delivery.next_attempt_at, delivery.delivered_at = "pending", now, None
    return delivery
