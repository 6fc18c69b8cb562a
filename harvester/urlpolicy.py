"""Which resource URLs the fetcher may contact: only http(s), and no loopback, private, link-local or
otherwise internal address unless that host is explicitly allowed (the demo and tests allow the sandbox)."""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


class Refused(Exception):
    """A URL the fetcher will not contact; the message is the reason recorded for the resource."""


@dataclass(frozen=True)
class UrlPolicy:
    allow_hosts: frozenset[str] = frozenset()

    def check(self, url: str) -> str:
        """Return the host if `url` may be fetched, else raise Refused with the reason."""
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            raise Refused(f"not a valid URL: {url!r}") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise Refused(f"scheme {parts.scheme or '(none)'!r} is not http or https")
        host = (parts.hostname or "").lower()
        if not host:
            raise Refused("URL has no host")
        if parts.username or parts.password:
            raise Refused("URL carries credentials")
        if host in self.allow_hosts:
            return host
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 80, type=socket.SOCK_STREAM)}
        except (socket.gaierror, UnicodeError) as exc:
            raise Refused(f"host {host} does not resolve ({exc})") from None
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            kind = _internal_kind(ip)
            if kind:
                raise Refused(f"host {host} resolves to {kind} address {ip} (not in fetch allow_hosts)")
        return host


def _internal_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for kind, flag in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                       ("private", ip.is_private), ("multicast", ip.is_multicast),
                       ("unspecified", ip.is_unspecified), ("reserved", ip.is_reserved)):
        if flag:
            return kind
    return None
