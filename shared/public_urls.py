"""Outbound URLs (push endpoints, webhooks) must reach the public internet:
aimed at loopback or a private network they would let anyone make the
servers call internal services. `OUTBOUND_ALLOW_PRIVATE=1` lifts the rule
(tests, on-premise push services)."""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class UrlRefused(ValueError):
    """The URL is not one we call; the message says why."""


def _refused_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_url(url: str, allow_private: bool, resolve: bool = True, schemes: tuple[str, ...] = ("https",)) -> None:
    """Raise UrlRefused unless `url` is an absolute URL of `schemes` whose host
    is public. `resolve`: also look the name up (at send time, so a name that
    later points inside is caught too); without it only literal addresses and
    `localhost` are judged."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("not a valid URL") from None
    allowed = schemes + (("http",) if allow_private and "https" in schemes else ())
    if parts.scheme not in allowed or not parts.hostname:
        raise UrlRefused(f"must be an absolute {' or '.join(schemes)} URL")
    if parts.username or parts.password:
        raise UrlRefused("must not carry credentials")
    if allow_private:
        return
    host = parts.hostname.rstrip(".")  # `localhost.` is localhost too
    if host == "localhost" or host.endswith(".localhost"):
        raise UrlRefused("points at a loopback or private address")
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        if not resolve:
            return
        try:
            infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise UrlRefused("its host does not resolve") from None
        addresses = [str(info[4][0]) for info in infos]
    if any(_refused_address(a) for a in addresses):
        raise UrlRefused("points at a loopback or private address")
