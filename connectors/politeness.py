"""Politeness per server and per site: requests in flight at once, and the delay between starts.

A request takes its turn on two budgets: its server's (the address actually connected to, with
its port) and its site's (the registrable domain of the host it names, by the public suffix
list: a.example.co.uk and b.example.co.uk are one site). So every spelling of one server
(127.1, 2130706433, localhost.), every host name that resolves to it, and every host of one
site wait on one slot, while sources on other servers or sites go on in parallel.

Ports: a server is its address with the port (services on other ports of one machine, such as
the test sites on 127.0.0.1, are other servers), the web's ports 80 and 443 folded into one
(http and https of a machine are one server); a site is its domain on any port. A host with no
registrable domain (an IP address, localhost) is its own site, with its port, as its server.
`site_key` is the one name of a URL's site: flows.pool names Prefect's global limits with it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Protocol

from tld import get_fld

from connectors import walls
from connectors.addresses import Target, authority, literal_address

WEB_PORTS = (80, 443)  # one server: http and https of a machine


class Clock(Protocol):
    """Time as the client sees it; tests pass a fake one so politeness needs no real sleeping."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Host:
    """Politeness state of one server or site: requests in flight, and when the next may start."""

    slots: asyncio.Semaphore
    next_start: float = 0.0
    wall: walls.Wall | None = None  # a bot wall it answered with: asked no more this run


@dataclass(frozen=True)
class Turn:
    """The budgets one request holds: its site's and its server's (one where they coincide)."""

    hosts: tuple[Host, ...]

    @property
    def wall(self) -> walls.Wall | None:
        return next((host.wall for host in self.hosts if host.wall), None)

    def walled(self, wall: walls.Wall | None) -> None:
        """Remember a bot wall on every budget of the request: the site and the server."""
        for host in self.hosts:
            host.wall = host.wall or wall


@dataclass
class Budget:
    """Network time one fetch may still spend, over all its hops and retries."""

    seconds: float


@lru_cache(maxsize=4096)
def site_of(host: str, port: int) -> str:
    """The site a host is on: its registrable domain (any port), else the host with its port
    (an IP address or a name without a public suffix, such as localhost)."""
    if literal_address(host) is None and (
        domain := get_fld(host, fix_protocol=True, fail_silently=True)
    ):
        return str(domain).lower()
    return f"{host}:{_port(port)}"


def site_key(url: str) -> str:
    """The site of a URL (see site_of), its host in connectors.urls' one spelling;
    AddressRefused for what is no http(s) URL."""
    return site_of(*authority(url))


def server_key(target: Target) -> str:
    """The server a checked request connects to: the address, with the port."""
    return f"{target.address}:{_port(target.port)}"


def _port(port: int) -> str:
    return "web" if port in WEB_PORTS else str(port)


class HostLimiter:
    """The budgets of every server and site asked this run, and the turn-taking between them."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._hosts: dict[str, Host] = {}

    @asynccontextmanager
    async def turn(self, target: Target, max_per_host: int) -> AsyncIterator[Turn]:
        """Hold a slot of the request's site and of its server (made on first use) while the
        request runs. Slots are taken site first, then server, by every request: a fixed order,
        so two requests never wait on each other's."""
        keys = dict.fromkeys((site_of(target.host, target.port), server_key(target)))
        hosts = tuple(self._host(key, max_per_host) for key in keys)
        async with AsyncExitStack() as stack:
            for host in hosts:
                await stack.enter_async_context(host.slots)
            yield Turn(hosts)

    def _host(self, key: str, max_per_host: int) -> Host:
        if key not in self._hosts:
            self._hosts[key] = Host(asyncio.Semaphore(max(1, max_per_host)))
        return self._hosts[key]

    async def wait_turn(self, turn: Turn, delay: float) -> None:
        """Keep at least `delay` seconds between the starts of two requests to one server or
        site (no await between reading and booking the start: the event loop is the lock)."""
        now = self._clock.monotonic()
        start = max(now, *(host.next_start for host in turn.hosts))
        for host in turn.hosts:
            host.next_start = start + delay
        if start > now:
            await self._clock.sleep(start - now)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds, from either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None
