"""Rules for the URLs this backend calls out to (webhooks, Web Push endpoints),
shared by the API (at registration) and the delivery worker (again at send time).

Without `OUTBOUND_ALLOW_PRIVATE=1` a URL may not point at loopback, private,
link-local or otherwise non-public addresses: a webhook must not become a way
to reach internal services (SSRF). Registration can only judge the URL's text
(an IP literal, `localhost`); the worker resolves the name when it sends and
connects to the address it checked, so a name that later resolves somewhere
private (DNS rebinding) is refused then.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

MAX_URL_CHARS = 2000
PUSH_SCHEMES = ("https",)  # browsers' push services are https
LOCAL_NAMES = ("localhost", "localhost.localdomain")


class OutboundRefused(ValueError):
    """A URL this backend will not call; the message says why."""


def public_address(address: str) -> bool:
    """Whether an IP address is on the public internet (not loopback, private,
    link-local, multicast, reserved; IPv4-mapped IPv6 judged as its IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def check_url(url: str, allow_private: bool, schemes: tuple[str, ...] = ("http", "https"),
              allow_credentials: bool = True) -> SplitResult:
    """The parts of a URL of `schemes` we may call; OutboundRefused otherwise.
    Push endpoints are `https` only, except where private addresses are allowed
    (tests, on-premise push services), where `http` is too."""
    if len(url) > MAX_URL_CHARS:
        raise OutboundRefused(f"longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # .port raises on a bad port
    except ValueError:
        raise OutboundRefused("has a bad port") from None
    allowed = schemes + (("http",) if allow_private and "http" not in schemes else ())
    if parts.scheme not in allowed:
        raise OutboundRefused("must be an " + " or ".join(f"{scheme}://" for scheme in allowed) + " URL")
    if not allow_credentials and (parts.username or parts.password):
        raise OutboundRefused("must not carry credentials")
    if not host or not url.isascii() or any(c.isspace() for c in url):
        raise OutboundRefused("must name a host, in ASCII, without spaces (punycode for other scripts)")
    if parts.fragment:
        raise OutboundRefused("must not have a #fragment")
    if allow_private:
        return parts
    literal = _literal(host)
    if literal is not None and not public_address(literal):
        raise OutboundRefused("points at a loopback, private or link-local address")
    if host.rstrip(".").lower() in LOCAL_NAMES or host.rstrip(".").lower().endswith(".localhost"):
        raise OutboundRefused("points at this machine (localhost)")
    return parts


def resolve(host: str, port: int, allow_private: bool) -> str:
    """One address of `host` to connect to, checked: every address the name
    resolves to must be public (unless allowed), so none can be slipped in."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundRefused(f"cannot resolve {host}: {exc}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not allow_private:
        private = [a for a in addresses if not public_address(a)]
        if private:
            raise OutboundRefused(f"{host} resolves to a loopback, private or other non-public address ({private[0]})")
    return addresses[0]


def check_destination(url: str, allow_private: bool, schemes: tuple[str, ...] = ("http", "https"),
                      allow_credentials: bool = True) -> str:
    """At send time: `check_url`, then the name resolved and every address
    checked; the address to connect to."""
    parts = check_url(url, allow_private, schemes, allow_credentials)
    default_port = 443 if parts.scheme == "https" else 80
    return resolve(parts.hostname or "", parts.port or default_port, allow_private)
