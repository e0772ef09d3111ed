"""Domain exceptions raised by shared code and by the API's models layer.

They know nothing of HTTP; the API maps each to a status and the error shape
(`api/errors.py`), the gateway to an error ack or `connect_error`.
"""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class NotFound(DomainError):
    """Missing, or not visible to the caller (we do not reveal which)."""

    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    """The resource is in a state that does not allow this."""

    code = "conflict"


class Invalid(DomainError):
    """Well-formed input that breaks a rule (422)."""

    code = "validation_failed"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TooLarge(DomainError):
    """The input is larger than allowed (413)."""

    code = "payload_too_large"


class UnsupportedType(DomainError):
    """A file of a type that is not accepted (415)."""

    code = "unsupported_type"


class Unavailable(DomainError):
    """Something the request needs (a database, a storage service) does not answer (503)."""

    code = "unavailable"
