"""Web Push: deciding who gets one, what it says, and sending it (pywebpush, VAPID).

The worker's flow for a `notification:created` / `notification:updated`
event in a personal room: `should_push` (presence, preferences, quiet hours),
then per subscription of the recipient a delivery; claimed deliveries go
through `collapse` (the latest per conversation), `push_payload`, `send_push`.
A `PushResult` that is `gone` deletes the subscription; `retry_after` says
when to try again. The push service also collapses: each push carries a
`Topic` per conversation, so a device that was offline gets only the latest.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import requests
from py_vapid import Vapid
from pywebpush import WebPushException, webpush
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from api.messaging.preferences import in_quiet_hours, preference_type
from shared.auth import Principal
from shared.config import ROLES, Config
from shared.models import PushSubscription
from shared.outbound import PUSH_SCHEMES, OutboundRefused, check_destination
from shared.presence_lookup import PresenceLookup
from worker.audience import muted, preferences_of

NOTIFICATION_EVENTS = ("notification:created", "notification:updated")
TITLE_CHARS, BODY_CHARS = 100, 140
# How long a push service keeps a push for a device that is offline (seconds).
PUSH_TTL = 24 * 3600
GONE = (404, 410)
RETRYABLE = (408, 429)


@dataclass(frozen=True)
class PushResult:
    """What the push service answered. `status` None: it was not reached.
    `gone`: the subscription is dead, delete it. `retry_after`: seconds to
    wait before trying again; None when there is nothing to retry (sent, or
    refused for good)."""

    status: int | None
    gone: bool = False
    retry_after: float | None = None
    error: str | None = None

    @property
    def sent(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def should_push(principal: Principal, notification_type: str, prefs: dict, now: dt.datetime,
                online: bool | None) -> bool:
    """Whether a notification of this type goes out as a push to `principal` now.
    `online` None (presence unknown: no Redis) pushes: a duplicate on an open
    tab is better than nothing for someone who is away. Quiet hours drop the
    push (the notification stays in the app and in the next digest)."""
    if online or not prefs.get("push", True):
        return False
    type_ = preference_type(notification_type)
    if type_ is not None and not prefs.get("types", {}).get(type_, True):
        return False
    return not in_quiet_hours(prefs, now)


def tag_of(notification: dict) -> str:
    """What collapses: one per conversation, else the notification itself."""
    conversation = (notification.get("data") or {}).get("conversation_id")
    return f"conversation:{conversation}" if conversation else f"notification:{notification['id']}"


def _clip(text: str | None, chars: int) -> str | None:
    if not text:
        return None
    return text if len(text) <= chars else text[: chars - 1] + "\u2026"


def push_payload(notification: dict, muted: bool, previews: bool = True) -> dict:
    """The push's JSON from a notification (an event's `data`): small (well
    under the 4 KB push services take), and without message text when the
    conversation is muted or the device asked for no previews."""
    return {
        "id": notification["id"], "type": notification["type"], "tag": tag_of(notification),
        "title": _clip(notification.get("title"), TITLE_CHARS) or "New notification",
        "body": None if muted or not previews else _clip(notification.get("body"), BODY_CHARS),
        "count": notification.get("count", 1), "url": notification.get("link"),
    }


def collapse(events: list[dict]) -> list[dict]:
    """A burst to one push: of notification events (envelopes), the latest per
    (recipient room, conversation), in the order of those latest events."""
    latest: dict[tuple[str, str], dict] = {}
    for event in events:
        key = (event["room"], tag_of(event["data"]))
        latest.pop(key, None)  # re-inserted last: the order follows the newest event
        latest[key] = event
    return list(latest.values())


def recipient_of(event: dict) -> Principal | None:
    """The principal whose personal room (`student:12`) the event went to."""
    role, _, pid = event["room"].partition(":")
    return Principal(role, int(pid)) if role in ROLES and pid.isascii() and pid.isdigit() else None


@dataclass(frozen=True)
class PlannedPush:
    event_id: int  # the latest event of its conversation's burst: the delivery's event
    subscription: PushSubscription
    payload: dict


def plan_pushes(session: Session, events: list[dict], presence: PresenceLookup, now: dt.datetime) -> list[PlannedPush]:
    """The pushes a batch of logged events (envelopes, in log order) calls for:
    notification events collapsed per conversation, to recipients who
    `should_push`, one per subscription. Three queries and one Redis round trip, whatever the batch."""
    latest = [e for e in collapse([e for e in events if e["type"] in NOTIFICATION_EVENTS]) if recipient_of(e)]
    recipients = list(dict.fromkeys(recipient_of(e) for e in latest))
    prefs, states = preferences_of(session, recipients), presence.states(recipients)
    wanted = [e for e in latest if should_push(recipient_of(e), e["data"]["type"], prefs[recipient_of(e)], now,
                                               states[recipient_of(e)][0])]
    devices = _subscriptions(session, list(dict.fromkeys(recipient_of(e) for e in wanted)))
    about = {e["id"]: (recipient_of(e), (e["data"].get("data") or {}).get("conversation_id")) for e in wanted}
    silent = muted(session, [(who, c) for who, c in about.values() if isinstance(c, int)], now)
    planned = []
    for event in wanted:
        who = recipient_of(event)
        planned += [PlannedPush(event["id"], sub, push_payload(event["data"], about[event["id"]] in silent,
                                                               sub.previews))
                    for sub in devices.get(who, [])]
    return planned


def payload_for(session: Session, event: dict, subscription: PushSubscription, now: dt.datetime) -> dict:
    """A planned push's payload again (for a retry of its delivery: event id -> envelope, target -> subscription)."""
    who, conversation = recipient_of(event), (event["data"].get("data") or {}).get("conversation_id")
    silent = isinstance(conversation, int) and (who, conversation) in muted(session, [(who, conversation)], now)
    return push_payload(event["data"], silent, subscription.previews)


def _subscriptions(session: Session, principals: list[Principal]) -> dict[Principal, list[PushSubscription]]:
    if not principals:
        return {}
    rows = session.execute(
        select(PushSubscription).where(tuple_(PushSubscription.principal_role, PushSubscription.principal_id)
                                       .in_([(p.role, p.id) for p in principals])).order_by(PushSubscription.id)
    ).scalars()
    found: dict[Principal, list[PushSubscription]] = {}
    for row in rows:
        found.setdefault(Principal(row.principal_role, row.principal_id), []).append(row)
    return found


def push_to(session: Session, subscription: PushSubscription, payload: dict, vapid: Vapid, config: Config,
            attempts: int = 0) -> PushResult:
    """`send_push` with the settings, deleting the subscription when the push service says it is gone."""
    result = send_push(subscription, payload, vapid, config.vapid_subject,
                       allow_private=config.outbound_allow_private, attempts=attempts)
    if result.gone:
        session.delete(subscription)
    return result


def _topic(tag: str) -> str:
    # RFC 8030 5.4: at most 32 characters of the URL-safe base64 alphabet.
    return hashlib.sha256(tag.encode()).hexdigest()[:32]


def backoff(attempts: int) -> float:
    """Seconds before retry number `attempts` + 1: 30 s doubling, at most an hour."""
    return float(min(30 * 2 ** max(attempts, 0), 3600))


def _retry_after(response: requests.Response | None, attempts: int) -> float:
    raw = response.headers.get("Retry-After", "") if response is not None else ""
    return float(min(int(raw), 3600)) if raw.isascii() and raw.isdigit() else backoff(attempts)


def send_push(subscription: PushSubscription, payload: dict, vapid: Vapid, subject: str, *,
              allow_private: bool = False, attempts: int = 0, timeout: float = 10.0) -> PushResult:
    """Encrypt `payload` for the subscription (aes128gcm) and POST it with a
    VAPID signature. Never raises for the push service's answers."""
    try:
        check_destination(subscription.endpoint, allow_private, PUSH_SCHEMES, allow_credentials=False)
    except OutboundRefused as exc:
        return PushResult(None, error=f"endpoint refused: {exc}")
    info = {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}
    with requests.Session() as session:
        session.max_redirects = 0  # a redirect could lead anywhere, past check_destination
        try:
            response = webpush(
                info, json.dumps(payload, separators=(",", ":")), vapid_private_key=vapid,
                vapid_claims={"sub": subject}, ttl=PUSH_TTL, timeout=timeout, requests_session=session,
                headers={"Topic": _topic(payload["tag"]), "Urgency": "normal"},
            )
        except WebPushException as exc:
            return _refusal(exc.response, attempts)
        except requests.RequestException as exc:
            return PushResult(None, retry_after=backoff(attempts), error=f"push service unreachable: {exc}")
    return PushResult(response.status_code)


def _refusal(response: requests.Response | None, attempts: int) -> PushResult:
    status = response.status_code if response is not None else None
    error = f"push service answered {status}"
    if status in GONE:
        return PushResult(status, gone=True, error=error)
    if status is None or status in RETRYABLE or status >= 500:
        return PushResult(status, retry_after=_retry_after(response, attempts), error=error)
    return PushResult(status, error=error)  # 400, 401, 403, 413: retrying the same push cannot help
