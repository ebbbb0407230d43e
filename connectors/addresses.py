"""Where the crawler may connect: public addresses only, unless a source says otherwise.

A feed, a sitemap or a redirect is untrusted input. Without this check a link to
http://169.254.169.254/ or localhost:2375 makes the crawler a proxy into its own host's network.
Every request is checked after DNS resolution, and the caller connects to the address checked
here (no second lookup an attacker's DNS could answer differently).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from connectors.config import Source

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Awaitable[list[str]]]
"""Host name -> its IP addresses as strings (the default asks the system resolver)."""

SCHEMES = frozenset({"http", "https"})
# Cloud metadata services, refused by name whatever they resolve to.
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class AddressRefused(ValueError):
    """The URL may not be fetched; the message says why (it lands in the fetch log)."""


@dataclass(frozen=True)
class Target:
    """A checked URL: the address to connect to, and the host name the server expects."""

    host: str
    port: int
    address: str


async def system_resolver(host: str) -> list[str]:
    """The system's addresses for a host name (getaddrinfo, off the event loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def literal_address(host: str) -> IPAddress | None:
    """The IP a host name spells, in any form a resolver accepts (0x7f000001, 2130706433, 127.1)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def forbidden_kind(address: IPAddress) -> str | None:
    """What makes an address off limits ("loopback", "private"...), or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for test, kind in (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local (cloud metadata)"),
        (address.is_multicast, "multicast"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "non-public"),
    ):
        if test:
            return kind
    return None


class AddressPolicy:
    """Checks URLs against the rules above, per source: its own base URL host is trusted."""

    def __init__(self, resolver: Resolver | None = None) -> None:
        self._resolve = resolver or system_resolver

    async def check(self, url: str, source: Source) -> Target:
        """The address to connect to for this URL, or AddressRefused with the reason."""
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise AddressRefused(f"scheme {parts.scheme or '(none)'!r} is not http or https")
        try:
            host, port = (parts.hostname or "").rstrip("."), parts.port
        except ValueError as exc:
            raise AddressRefused(f"bad port in {url!r}") from exc
        if not host:
            raise AddressRefused("URL has no host")
        port = port or _DEFAULT_PORTS[parts.scheme]
        literal = literal_address(host)
        if literal is None and host.lower() in METADATA_HOSTS:
            raise AddressRefused(f"{host} is a cloud metadata service")
        try:
            addresses = [literal] if literal else [_ip(a) for a in await self._resolve(host)]
        except (OSError, UnicodeError, ValueError) as exc:
            raise AddressRefused(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise AddressRefused(f"{host} has no address")
        if not _trusted(host, port, addresses, source):
            for address in addresses:  # every answer must be public: no DNS rebinding games
                if kind := forbidden_kind(address):
                    where = f"{host} is" if literal else f"{host} resolves to {address},"
                    raise AddressRefused(f"{where} a {kind} address")
        return Target(host, port, str(addresses[0]))


def _ip(value: str) -> IPAddress:
    return ipaddress.ip_address(value.split("%")[0])  # drop an IPv6 zone id


def _trusted(host: str, port: int, addresses: list[IPAddress], source: Source) -> bool:
    """The source's own base URL host (same host and port), or an allow-listed host or network."""
    base = urlsplit(source.base_url)
    base_port = base.port or _DEFAULT_PORTS.get(base.scheme, 0)
    if host.lower() == (base.hostname or "").lower() and port == base_port:
        return True
    for entry in source.allow_hosts:
        if entry.lower() in (host.lower(), f"{host.lower()}:{port}"):
            return True
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if all(address in network for address in addresses):
            return True
    return False
