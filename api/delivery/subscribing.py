"""Storing Web Push subscriptions: one row per browser endpoint, owned by
whoever registered it last, at most `MAX_PER_PRINCIPAL` per principal."""
from __future__ import annotations

import hashlib

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from api.auth import app_config
from api.extensions import db
from shared.auth import Principal
from shared.errors import Invalid, NotFound
from shared.models import PushSubscription
from shared.outbound import PUSH_SCHEMES, OutboundRefused, check_url

# Browsers make a new subscription per profile and reinstall; old ones pile up
# until their push service says 410. Past this many the oldest is dropped.
MAX_PER_PRINCIPAL = 20


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


def owned_by(principal: Principal):
    return (PushSubscription.principal_role == principal.role, PushSubscription.principal_id == principal.id)


def subscribe(principal: Principal, body: dict) -> tuple[PushSubscription, bool]:
    """Store the subscription for `principal`; (row, created). The same
    endpoint again updates its keys (and moves it to `principal`)."""
    try:
        # Names are resolved at each send (worker/push.py); here, literal addresses and localhost.
        check_url(body["endpoint"], app_config().outbound_allow_private, PUSH_SCHEMES, allow_credentials=False)
    except OutboundRefused as exc:
        raise Invalid(f"endpoint {exc}", details={"endpoint": [str(exc)]}) from None
    digest = endpoint_hash(body["endpoint"])
    values = {"principal_role": principal.role, "principal_id": principal.id, "p256dh": body["keys"]["p256dh"],
              "auth": body["keys"]["auth"], "previews": body["previews"]}
    row = _by_hash(digest)
    created = row is None or (row.principal_role, row.principal_id) != (principal.role, principal.id)
    if row is None:
        try:
            with db.session.begin_nested():
                row = PushSubscription(endpoint=body["endpoint"], endpoint_hash=digest, **values)
                db.session.add(row)
        except IntegrityError:  # the same browser raced in twice
            row, created = _by_hash(digest), False
    for name, value in values.items():
        setattr(row, name, value)
    db.session.flush()
    _drop_beyond_limit(principal)
    return row, created


def _by_hash(digest: str) -> PushSubscription | None:
    return db.session.execute(
        select(PushSubscription).where(PushSubscription.endpoint_hash == digest)
    ).scalar_one_or_none()


def _drop_beyond_limit(principal: Principal) -> None:
    keep = select(PushSubscription.id).where(*owned_by(principal)).order_by(PushSubscription.id.desc())
    ids = db.session.execute(keep.offset(MAX_PER_PRINCIPAL)).scalars().all()
    if ids:
        db.session.execute(delete(PushSubscription).where(PushSubscription.id.in_(ids)))


def subscriptions_of(principal: Principal) -> list[PushSubscription]:
    return list(db.session.execute(
        select(PushSubscription).where(*owned_by(principal)).order_by(PushSubscription.id)
    ).scalars())


def own_subscription(principal: Principal, subscription_id: int) -> PushSubscription:
    """The principal's subscription, or 404 (also for someone else's)."""
    row = db.session.get(PushSubscription, subscription_id)
    if row is None or (row.principal_role, row.principal_id) != (principal.role, principal.id):
        raise NotFound("no such push subscription", code="subscription_not_found")
    return row
