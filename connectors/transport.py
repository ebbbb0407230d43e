"""The network under the client: connections go only to the address the policy checked."""

from __future__ import annotations

import contextvars
from collections.abc import Iterable

import httpcore
import httpx

from connectors.addresses import Target

# The address the policy checked for the request being sent, read by the network backend.
PINNED: contextvars.ContextVar[Target | None] = contextvars.ContextVar("pinned", default=None)


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to the address the policy just checked, so DNS is not asked twice."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[object] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        target = PINNED.get()
        if target is None or (target.host.lower(), target.port) != (host.lower(), port):
            raise httpcore.ConnectError(f"connection to unchecked address {host}:{port} refused")
        return await self._inner.connect_tcp(
            target.address, port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: object = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are never used")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def pinned_transport() -> httpx.AsyncHTTPTransport:
    """httpx's transport, its connections made through _PinnedBackend (no proxies from env)."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    pool = transport._pool  # httpx offers no public seam for the network backend
    pool._network_backend = _PinnedBackend(pool._network_backend)
    return transport
