"""Email digests: one email summarising what a principal missed while away,
not one per message.

A digest is due for a principal with an address (EMAIL_ADDRESS_SOURCE),
email on in their preferences (`instant`, `hourly`, `daily`, `weekly`: at
most one per that period), something unread that is newer than their last
digest, no live socket, and offline for DIGEST_AFTER_MINUTES (without
Redis, presence is unknown: then the newest digest-worthy item must have
waited that long unread). Session reminders do not wait: they go as soon as
the principal is offline. Quiet hours hold digests back.

The worker's flow, every minute or so: `send_due_digests`, which is
`due_digests`, then per digest `claim_digest` (commit), `build_digest`,
`send_mail`, and on a retryable failure `release_digest`. The claim is a conditional UPDATE, so two workers
never send one digest twice; a crash after the claim loses that digest
(the next one covers what is still unread).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape

from sqlalchemy import and_, case, func, select, tuple_, update
from sqlalchemy.orm import Session

from api.messaging.preferences import in_quiet_hours
from shared import unsubscribe
from shared.auth import Principal
from shared.config import Config
from shared.models import EmailContact, Notification
from shared.presence_lookup import PresenceLookup
from worker.audience import preferences_of
from worker.mail import MailResult, send_mail

CADENCE = {"instant": dt.timedelta(0), "hourly": dt.timedelta(hours=1), "daily": dt.timedelta(days=1),
           "weekly": dt.timedelta(days=7)}
ITEMS = 10  # the newest unread shown; the rest are counted
URGENT = "session%"  # session reminders: sent once the principal is offline, without the wait


@dataclass
class Digest:
    principal: Principal
    address: str
    previous: dt.datetime | None  # the last digest before this one (what claim_digest expects)
    unread: int = 0
    items: list[dict] = field(default_factory=list)


def _candidates(session: Session):
    """Per principal with an address and something unread newer than their last digest: the span of it."""
    new = and_(Notification.read_at.is_(None),
               (EmailContact.last_digest_at.is_(None)) | (Notification.updated_at > EmailContact.last_digest_at))
    urgent = func.max(case((Notification.type.like(URGENT), 1), else_=0))
    return session.execute(
        select(Notification.recipient_role, Notification.recipient_id, EmailContact.address,
               EmailContact.last_digest_at, func.min(Notification.updated_at), urgent)
        .join(EmailContact, and_(EmailContact.principal_role == Notification.recipient_role,
                                 EmailContact.principal_id == Notification.recipient_id))
        .where(new, EmailContact.address.is_not(None))
        .group_by(Notification.recipient_role, Notification.recipient_id, EmailContact.address,
                  EmailContact.last_digest_at)
    ).all()


def due_digests(session: Session, now: dt.datetime, config: Config, presence: PresenceLookup) -> list[Digest]:
    """The digests to send now (naive UTC `now`), their items loaded; three queries and one Redis round trip."""
    rows = _candidates(session)
    principals = [Principal(role, pid) for role, pid, *_ in rows]
    prefs, states = preferences_of(session, principals), presence.states(principals)
    wait = dt.timedelta(minutes=config.digest_after_minutes)
    due = []
    for p, (_, _, address, last, oldest_new, urgent) in zip(principals, rows, strict=True):
        cadence = CADENCE.get(prefs[p]["email"])
        online, since = states[p]
        if cadence is None or online or in_quiet_hours(prefs[p], now):
            continue
        away_long = (since or oldest_new) <= now - wait
        if urgent or (away_long and (last is None or now - last >= cadence)):
            due.append(Digest(p, address, last))
    _load_items(session, due)
    return due


def _load_items(session: Session, digests: list[Digest]) -> None:
    if not digests:
        return
    by_principal = {d.principal: d for d in digests}
    rows = session.execute(
        select(Notification)
        .where(tuple_(Notification.recipient_role, Notification.recipient_id).in_(
            [(p.role, p.id) for p in by_principal]), Notification.read_at.is_(None))
        .order_by(Notification.updated_at.desc(), Notification.id.desc())
    ).scalars()
    for row in rows:
        digest = by_principal[Principal(row.recipient_role, row.recipient_id)]
        digest.unread += 1
        if len(digest.items) < ITEMS:
            digest.items.append({"type": row.type, "title": row.title, "body": row.body, "count": row.count,
                                 "updated_at": row.updated_at})


def _key(principal: Principal):
    return (EmailContact.principal_role == principal.role, EmailContact.principal_id == principal.id)


def claim_digest(session: Session, digest: Digest, now: dt.datetime) -> bool:
    """Mark the digest as sent at `now` unless another worker did first; commit, then send."""
    unchanged = (EmailContact.last_digest_at.is_(None) if digest.previous is None
                 else EmailContact.last_digest_at == digest.previous)
    result = session.execute(update(EmailContact).where(*_key(digest.principal), unchanged)
                             .values(last_digest_at=now))
    return result.rowcount == 1


def release_digest(session: Session, digest: Digest, now: dt.datetime) -> None:
    """Sending failed but may pass later: the digest is due again."""
    session.execute(update(EmailContact).where(*_key(digest.principal), EmailContact.last_digest_at == now)
                    .values(last_digest_at=digest.previous))


def unsubscribe_url(principal: Principal, config: Config) -> str:
    token = unsubscribe.make_token(principal, config.events_signing_secret)
    return f"{config.public_api_url}/api/v1/unsubscribe?token={token}"


def _line(item: dict) -> str:
    count = f" ({item['count']})" if item["count"] > 1 else ""
    return f"{item['title']}{count}"


def build_digest(digest: Digest, config: Config) -> EmailMessage:
    """The email: plain text and HTML (everything from users escaped), with a
    one-click unsubscribe link (RFC 8058) that needs no login."""
    link = unsubscribe_url(digest.principal, config)
    noun = "notification" if digest.unread == 1 else "notifications"
    message = EmailMessage()
    message["Subject"] = f"You have {digest.unread} unread {noun}"
    message["From"], message["To"] = config.mail_from, digest.address
    message["Date"] = formatdate()
    message["Message-ID"] = make_msgid(domain=config.mail_from.rpartition("@")[2].strip("> ") or None)
    message["Auto-Submitted"] = "auto-generated"
    message["List-Unsubscribe"] = f"<{link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    more = digest.unread - len(digest.items)
    text = [f"While you were away: {digest.unread} unread {noun}.", ""]
    text += [f"- {_line(i)}" + (f"\n  {i['body']}" if i["body"] else "") for i in digest.items]
    text += [f"... and {more} more" if more > 0 else "", "", f"Stop these emails: {link}"]
    message.set_content("\n".join(text))
    items = "".join(f"<li><strong>{escape(_line(i))}</strong>" + (f"<br>{escape(i['body'])}" if i["body"] else "")
                    + "</li>" for i in digest.items)
    html = (f"<!doctype html><html><body><p>While you were away: {digest.unread} unread {noun}.</p>"
            f"<ul>{items}</ul>" + (f"<p>... and {more} more</p>" if more > 0 else "")
            + f'<p style="font-size:small"><a href="{escape(link)}">Stop these emails</a></p></body></html>')
    message.add_alternative(html, subtype="html")
    return message


def send_due_digests(session: Session, now: dt.datetime, config: Config,
                     presence: PresenceLookup) -> list[tuple[Digest, MailResult]]:
    """One pass: every due digest claimed, sent and, if that may pass later,
    released to be due again. What was tried and how it went (for metrics)."""
    if not config.smtp_url:
        return []
    outcomes = []
    for digest in due_digests(session, now, config, presence):
        claimed = claim_digest(session, digest, now)
        session.commit()
        if not claimed:
            continue  # another worker has it
        result = send_mail(build_digest(digest, config), config.smtp_url)
        if not result.sent and result.retryable:
            release_digest(session, digest, now)
            session.commit()
        outcomes.append((digest, result))
    return outcomes
