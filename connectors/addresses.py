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
from functools import lru_cache

import httpx

from connectors.config import Source
from connectors.urls import RejectedUrl, web_url

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
    """Checks URLs against the rules above, per source: its own base URL host is trusted.

    A host name is resolved once per policy (one client, one run): later answers from a DNS
    server that changes its mind do not matter.
    """

    def __init__(self, resolver: Resolver | None = None) -> None:
        self._resolve = resolver or system_resolver
        self._resolved: dict[str, list[IPAddress]] = {}

    async def check(self, url: str, source: Source) -> Target:
        """The address to connect to for this URL, or AddressRefused with the reason."""
        host, port = authority(url)
        name = host.rstrip(".")
        literal = literal_address(name)
        if literal is None and name in METADATA_HOSTS:
            raise AddressRefused(f"{name} is a cloud metadata service")
        addresses = [literal] if literal else await self._addresses(name)
        # every answer must be public (no DNS rebinding games), unless the host is trusted
        forbidden = [(address, kind) for address in addresses if (kind := forbidden_kind(address))]
        if (
            forbidden
            and not await self._own_server(port, addresses, source)
            and not _trusted(host, port, addresses, source)
        ):
            address, kind = forbidden[0]
            where = f"{name} is" if literal else f"{name} resolves to {address},"
            raise AddressRefused(f"{where} a {kind} address")
        return Target(host, port, str(addresses[0]))

    async def _own_server(self, port: int, addresses: list[IPAddress], source: Source) -> bool:
        """Whether the URL goes to the server of the source's base URL, however it is spelled:
        the same port, and every address it resolves to one of the base host's (the server
        the limiter in connectors.politeness keys on, so both see one server)."""
        base_host, base_port = authority(source.base_url)
        if port != base_port:
            return False
        literal = literal_address(base_host)
        try:
            own = [literal] if literal else await self._addresses(base_host)
        except AddressRefused:
            return False
        return all(address in own for address in addresses)

    async def _addresses(self, name: str) -> list[IPAddress]:
        if name not in self._resolved:
            try:
                self._resolved[name] = [_ip(a) for a in await self._resolve(name)]
            except (OSError, UnicodeError, ValueError) as exc:
                raise AddressRefused(f"cannot resolve {name}: {exc}") from exc
        if not self._resolved[name]:
            raise AddressRefused(f"{name} has no address")
        return self._resolved[name]


@lru_cache(maxsize=4096)
def authority(url: str) -> tuple[str, int]:
    """(host, port) a URL connects to: the host in connectors.urls' one spelling, IDNA-encoded
    as sent on the wire (пример.рф -> xn--e1afmkfd.xn--p1ai); AddressRefused for what is not
    http(s) or not a URL."""
    checked = web_url(url)  # one spelling per server: 127.1 and 2130706433 are 127.0.0.1
    if isinstance(checked, RejectedUrl):
        raise AddressRefused(str(checked))
    try:
        parsed = httpx.URL(checked)
    except (httpx.InvalidURL, ValueError) as exc:
        raise AddressRefused(f"invalid URL: {exc}") from exc
    if parsed.scheme not in SCHEMES:
        raise AddressRefused(f"scheme {parsed.scheme or '(none)'!r} is not http or https")
    host = parsed.raw_host.decode("ascii").lower()
    if not host:
        raise AddressRefused("URL has no host")
    return host, parsed.port or _DEFAULT_PORTS[parsed.scheme]


def _ip(value: str) -> IPAddress:
    return ipaddress.ip_address(value.split("%")[0])  # drop an IPv6 zone id


def _trusted(host: str, port: int, addresses: list[IPAddress], source: Source) -> bool:
    """An allow-listed host or network of the source."""
    for entry in source.allow_hosts:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            allowed_host, allowed_port = authority(f"http://{entry}")
            if allowed_host == host and (":" not in entry or allowed_port == port):
                return True
            continue
        if all(address in network for address in addresses):
            return True
    return False
