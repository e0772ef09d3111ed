"""Sending email with the standard library's SMTP client to `SMTP_URL`
(`smtp://user:pw@host:587?starttls=1`, `smtps://host:465`)."""
from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True)
class MailResult:
    """`sent`, or why not: `retryable` for what may pass later (a 4xx, a
    refused or dropped connection, a timeout), not for a 5xx refusal."""

    sent: bool
    retryable: bool = False
    error: str | None = None


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    tls: bool  # smtps: TLS from the first byte
    starttls: bool
    user: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> "SmtpTarget":
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname or "localhost", port=parts.port or (465 if tls else 25), tls=tls,
            starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def _connect(target: SmtpTarget, timeout: float) -> smtplib.SMTP:
    if target.tls:
        return smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
    client = smtplib.SMTP(target.host, target.port, timeout=timeout)
    if target.starttls:
        client.starttls(context=ssl.create_default_context())
    return client


def send_mail(message: EmailMessage, smtp_url: str, timeout: float = 30.0) -> MailResult:
    """Send one message (its From/To headers say who); never raises for the server's answers."""
    target = SmtpTarget.parse(smtp_url)
    try:
        with _connect(target, timeout) as client:
            if target.user:
                client.login(target.user, target.password or "")
            refused = client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return MailResult(False, retryable=all(400 <= c < 500 for c in codes), error=f"recipients refused: {codes}")
    except smtplib.SMTPResponseException as exc:  # sender or data refused, auth failed, 421 closing
        return MailResult(False, retryable=exc.smtp_code < 500, error=f"server answered {exc.smtp_code}")
    except (smtplib.SMTPException, OSError, socket.timeout) as exc:  # disconnected, refused, timed out
        return MailResult(False, retryable=True, error=f"{exc.__class__.__name__}: {exc}")
    if refused:  # some recipients of several took it, others not: digests have one
        return MailResult(False, retryable=False, error=f"recipients refused: {sorted(refused)}")
    return MailResult(True)
