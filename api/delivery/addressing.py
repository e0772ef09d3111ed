"""Email addresses for digests, from the principal's own tokens
(EMAIL_ADDRESS_SOURCE=claim:<name>): the site that issues the tokens knows
the address, we never guess one. Remembered after a request that carried a
valid token, written only when it differs from what this process last wrote."""
from __future__ import annotations

import logging
import re

from flask import current_app, g
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from api.auth import app_config
from api.extensions import db
from api.messaging import preferences
from shared.auth import Principal
from shared.models import EmailContact
from shared.timeutil import utcnow

log = logging.getLogger(__name__)
# Deliberately plain: one @, no spaces or controls, a dot in the domain, at most 254 (RFC 5321).
ADDRESS = re.compile(r"[^@\s\x00-\x1f\x7f<>]{1,64}@[^@\s\x00-\x1f\x7f<>]+\.[^@\s\x00-\x1f\x7f<>.]+")
REMEMBERED_MAX = 100_000


def claimed_address(claims: dict) -> str | None:
    source = app_config().email_address_source
    if not source.startswith("claim:"):
        return None
    value = claims.get(source.removeprefix("claim:"))
    if not isinstance(value, str) or len(value) > 254 or not ADDRESS.fullmatch(value):
        return None
    return value


def remember_claimed_address(response):
    """after_request: store the address the caller's token claims, if new to this process."""
    principal, claims = g.get("principal"), g.get("claims")
    if principal is None or not isinstance(claims, dict) or principal.role == "service":
        return response
    address = claimed_address(claims)
    written = current_app.extensions.setdefault("remembered_addresses", {})
    if address is None or written.get(principal) == address:
        return response
    try:
        _store(principal, address)
    except SQLAlchemyError as exc:  # the request itself succeeded; the next one tries again
        db.session.rollback()
        log.warning("could not remember the email address of %s: %s", principal, exc.__class__.__name__)
        return response
    if len(written) >= REMEMBERED_MAX:
        written.clear()
    written[principal] = address
    return response


def _store(principal: Principal, address: str) -> None:
    db.session.rollback()  # whatever the view left open is over: this is its own transaction
    key = (EmailContact.principal_role == principal.role, EmailContact.principal_id == principal.id)
    changed = db.session.execute(update(EmailContact).where(*key).values(address=address, updated_at=utcnow()))
    if changed.rowcount == 0:
        try:
            with db.session.begin_nested():
                db.session.add(EmailContact(principal_role=principal.role, principal_id=principal.id,
                                            address=address))
        except IntegrityError:  # a concurrent request stored it first
            pass
    db.session.commit()


def unsubscribe(principal: Principal) -> dict:
    """Turn the principal's email digests off (their other preferences stay); the document now."""
    document = preferences.as_document(principal)
    document["email"] = "off"
    preferences.replace(principal, document)
    return preferences.as_document(principal)
