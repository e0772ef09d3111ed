"""The signed token in an email's unsubscribe link: it names the principal,
so the link works without logging in, and only we can make one (HMAC with a
key derived from EVENTS_SIGNING_SECRET). Tokens do not expire: an old
digest's link must still work."""
from __future__ import annotations

import base64
import hashlib
import hmac

from shared.auth import Principal
from shared.config import ROLES

PURPOSE = b"email-unsubscribe:v1"


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), PURPOSE, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_token(principal: Principal, secret: str) -> str:
    subject = f"{principal.role}.{principal.id}"
    signature = hmac.new(_key(secret), subject.encode(), hashlib.sha256).digest()[:18]
    return f"{subject}.{_b64(signature)}"


def read_token(token: str, secret: str) -> Principal | None:
    """The principal a token names, or None when it is not one of ours."""
    role, _, rest = token.partition(".")
    pid, _, signature = rest.partition(".")
    if role not in ROLES or not (pid.isascii() and pid.isdigit()) or len(pid) > 10:
        return None
    if not hmac.compare_digest(make_token(Principal(role, int(pid)), secret), token):
        return None
    return Principal(role, int(pid))
