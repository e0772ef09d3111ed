"""Logging setup for both processes.

`LOG_FORMAT=json` gives one JSON object per line (for log shippers); anything
else gives plain text. A filter adds `request_id` to every record when the
process can tell it (the API sets a provider; the gateway leaves it empty).
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Callable

from pythonjsonlogger.json import JsonFormatter

_request_id_provider: Callable[[], str | None] = lambda: None  # noqa: E731


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            try:
                record.request_id = _request_id_provider()
            except RuntimeError:  # outside a request
                record.request_id = None
        return True


def set_request_id_provider(provider: Callable[[], str | None]) -> None:
    global _request_id_provider
    _request_id_provider = provider


def configure_logging(process: str, log_format: str | None = None, level: str | None = None) -> None:
    """Configure the root logger once per process (idempotent)."""
    log_format = (log_format or os.environ.get("LOG_FORMAT", "text")).lower()
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
                static_fields={"process": process},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_mentorship", False)]:
        root.removeHandler(old)
    handler._mentorship = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))


class CauseOnly(logging.Filter):
    """On a handler: the traceback of records from the loggers under `name`
    replaced by its one-line cause. For SQLAlchemy's pool (`sqlalchemy.pool`),
    which logs a traceback each time it cannot reset a connection the database
    dropped: an outage the process already reports in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if super().filter(record) and record.exc_info and record.exc_info[1] is not None:
            record.msg, record.args = f"{record.getMessage()}: {cause(record.exc_info[1])}", ()
            record.exc_info = record.exc_text = None
        return True


def cause(exc: BaseException) -> str:
    """One line naming what went wrong, for a log line instead of a traceback
    when a dependency (database, Redis) is unreachable: the driver's own error
    when SQLAlchemy wraps one, e.g. `OperationalError: (2003, "Can't connect to MySQL server on '127.0.0.1'")`."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()
    return f"{type(inner).__name__}: {text[0]}" if text else type(inner).__name__
