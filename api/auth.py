"""The caller's principal, verified once per request from the bearer token."""
from __future__ import annotations

import functools

from flask import current_app, g, request

from shared.auth import Principal, bearer_token, verify_token
from shared.config import Config
from shared.errors import Forbidden


def app_config() -> Config:
    return current_app.extensions["app_config"]


def current_principal() -> Principal:
    """Verify the Authorization header (once); AuthError becomes a 401."""
    if "principal" not in g:
        token = bearer_token(request.headers.get("Authorization"))
        g.principal, g.claims = verify_token(token, app_config())
    return g.principal


# Methods that change nothing: the only ones a `service` principal may call, but where a route opts in.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def require_roles(*roles: str, service_writes: bool = False):
    """Decorator: authenticate, refuse a `service` principal's write unless the
    route opts in (`service_writes`), then principals of other roles (403)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if principal.role == "service" and not service_writes and request.method not in READ_METHODS:
                raise Forbidden(
                    "the service role reads; it writes events only", code="read_only_role"
                )
            if roles and principal.role not in roles:
                raise Forbidden(
                    f"this action is for {', '.join(roles)} only", code="role_not_allowed"
                )
            return view(*args, **kwargs)

        return wrapper

    return decorator

