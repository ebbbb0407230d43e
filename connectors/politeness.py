"""Politeness per host: requests in flight to one host at once, and the delay between starts.

The limiter is keyed by the address actually connected to (host and port), so two sources on
one site, or a redirect to another host, share or leave the right host's budget.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

from connectors import walls
from connectors.addresses import Target


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
    """Politeness state of one host: requests in flight, and when the next may start."""

    slots: asyncio.Semaphore
    next_start: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wall: walls.Wall | None = None  # a bot wall it answered with: asked no more this run


@dataclass
class Budget:
    """Network time one fetch may still spend, over all its hops and retries."""

    seconds: float


class HostLimiter:
    """One Host per address connected to, and the turn-taking between their requests."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._hosts: dict[str, Host] = {}

    def host(self, target: Target, max_per_host: int) -> Host:
        """The politeness state of the host a request goes to (made on first use)."""
        key = f"{target.host}:{target.port}"
        if key not in self._hosts:
            self._hosts[key] = Host(asyncio.Semaphore(max(1, max_per_host)))
        return self._hosts[key]

    async def wait_turn(self, host: Host, delay: float) -> None:
        """Keep at least `delay` seconds between the starts of two requests to one host."""
        async with host.lock:
            now = self._clock.monotonic()
            start = max(now, host.next_start)
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
