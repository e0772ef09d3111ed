"""One JSON error shape for every failure, built in one place.

`{"error": {"code": "<snake_case>", "message": "<human text>", "details": {...}}}`
Internals never leak: database and unexpected errors are logged with the
request id and answered with a generic message.
"""
from __future__ import annotations

import logging

from flask import Flask, g, jsonify
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from api.extensions import db
from shared import errors
from shared.auth import AuthError
from shared.logs import cause

log = logging.getLogger(__name__)

# HTTP status -> default code, for errors raised by Flask/werkzeug/webargs.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    431: "headers_too_large",
    500: "internal_error",
    503: "unavailable",
}
DOMAIN_STATUS = {
    errors.NotFound: 404,
    errors.Forbidden: 403,
    errors.Conflict: 409,
    errors.Invalid: 422,
    errors.RateLimited: 429,
    errors.TooLarge: 413,
    errors.UnsupportedType: 415,
    errors.Unavailable: 503,
}


def error_response(status: int, code: str, message: str, details: dict | None = None, headers=None):
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_http_exception(error: HTTPException):
    """werkzeug and webargs errors (404, 405, 413, malformed JSON, 422...)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    details = data.get("errors") or data.get("messages") or {}
    message = data.get("message") or error.description or error.name
    code = HTTP_CODES.get(status, "error")
    if status == 400 and "json" in details:
        code, message = "malformed_json", "request body is not valid JSON"
    elif status == 422:
        # webargs nests by location ({"json": {...}}); a route reads one, so flatten it.
        if len(details) == 1 and set(details) <= {"json", "query"} and isinstance(next(iter(details.values())), dict):
            details = next(iter(details.values()))
        message = "the input did not validate; see details"
    elif status == 500:
        message = "internal error"
    return error_response(status, code, message, details, data.get("headers"))


def handle_domain_error(error: errors.DomainError):
    status = next((s for kind, s in DOMAIN_STATUS.items() if isinstance(error, kind)), 400)
    headers = {}
    if isinstance(error, errors.RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    elif isinstance(error, errors.Unavailable):
        headers["Retry-After"] = "5"
    return error_response(status, error.code, error.message, error.details, headers)


def handle_auth_error(error: AuthError):
    return error_response(
        401, error.code, error.message, headers={"WWW-Authenticate": f'Bearer error="{error.code}"'}
    )


def handle_integrity_error(error: IntegrityError):
    # A unique constraint lost a race: a conflict, never a 500. Views that
    # know better catch it themselves and say which rule was hit.
    db.session.rollback()
    log.info("integrity error (request %s): %s", g.get("request_id"), error.orig)
    return error_response(409, "conflict", "the change conflicts with existing data")


# MySQL/MariaDB errors that refuse a value rather than report an outage:
# pymysql maps MariaDB's 4025 (a CHECK such as JSON_VALID failed) and
# MySQL's 3819 (check constraint violated) to OperationalError.
VALUE_REFUSED = {3819, 4025}


def handle_refused_value(error: DataError | OperationalError):
    # Input checks should have caught it; a refusal is the caller's input, not an outage.
    db.session.rollback()
    log.warning("database refused a value (request %s): %s", g.get("request_id"), getattr(error.orig, "args", ())[:1])
    return error_response(422, "value_refused", "the database refused a value of this request")


def handle_operational_error(error: OperationalError):
    if (getattr(error.orig, "args", None) or [None])[0] in VALUE_REFUSED:
        return handle_refused_value(error)
    db.session.rollback()
    log.error("database unavailable (request %s): %s", g.get("request_id"), cause(error))
    return error_response(503, "unavailable", "the database is unavailable; try again", headers={"Retry-After": "5"})


def handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    db.session.rollback()
    log.exception("unhandled error (request %s)", g.get("request_id"))
    return error_response(500, "internal_error", "internal error")


def register_error_handlers(app: Flask) -> None:
    # Registered after flask-smorest's own, so these replace its handler.
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(errors.DomainError, handle_domain_error)
    app.register_error_handler(AuthError, handle_auth_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(OperationalError, handle_operational_error)
    app.register_error_handler(DataError, handle_refused_value)
    app.register_error_handler(Exception, handle_unexpected)
