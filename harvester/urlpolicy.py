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
            addresses = {str(ipaddress.ip_address(host))}  # an address literal: nothing to resolve
        except ValueError:
            try:
                addresses = {info[4][0] for info in
                             socket.getaddrinfo(host, parts.port or 80, type=socket.SOCK_STREAM)}
            except (socket.gaierror, UnicodeError, ValueError) as exc:
                raise Refused(f"host {host} does not resolve ({exc})") from None
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            kind = address_kind(ip)
            if kind:
                raise Refused(f"host {host} resolves to {kind} address {ip} (not in fetch allow_hosts)")
        return host


SHARED = ipaddress.ip_network("100.64.0.0/10")
"""RFC 6598 shared address space (carrier-grade NAT); a cloud's metadata service can live there."""
NAT64 = ipaddress.ip_network("64:ff9b::/96")
"""RFC 6052 well-known NAT64 prefix: the last 32 bits are an IPv4 address."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, list[ipaddress.IPv4Address]] | None:
    """The IPv4 addresses an IPv6 address stands for (IPv4-mapped, 6to4, NAT64, Teredo), with the form."""
    if ip.ipv4_mapped:
        return "IPv4-mapped", [ip.ipv4_mapped]
    if ip.sixtofour:
        return "6to4", [ip.sixtofour]
    if ip in NAT64:
        return "NAT64", [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.teredo:
        return "Teredo", list(ip.teredo)
    return None


def address_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why the fetcher refuses this address (loopback, private, shared, ...), or None for a public one.

    An IPv6 address that carries an IPv4 one (IPv4-mapped, 6to4, NAT64, Teredo) is judged by what it
    carries: `2002:a00:1::` is 10.0.0.1 behind a 6to4 relay."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = embedded_ipv4(ip)
        if embedded:
            form, inner = embedded
            for address in inner:
                kind = address_kind(address)
                if kind:
                    return f"{kind} ({form} of {address})"
            return None
    if isinstance(ip, ipaddress.IPv4Address) and ip in SHARED:
        return "shared (100.64.0.0/10)"
    for kind, flag in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                       ("private", ip.is_private), ("multicast", ip.is_multicast),
                       ("unspecified", ip.is_unspecified), ("reserved", ip.is_reserved)):
        if flag:
            return kind
    return None
