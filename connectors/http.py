"""One polite HTTP client for every connector: robots.txt, per-host limits, retries, caps."""

from __future__ import annotations

import asyncio
import codecs
import random
import re
import time
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import charset_normalizer
import httpx

from connectors.config import Politeness
from connectors.records import FetchAttempt, Validators

USER_AGENT = "newsflow/0.1 (multilingual news research crawler; honours robots.txt)"
ROBOTS_AGENT = "newsflow"  # the token robots.txt groups are matched against
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5
MAX_RETRY_AFTER_SECONDS = 60.0
ROBOTS_MAX_BYTES = 500_000
ROBOTS_DISALLOWED = "disallowed by robots.txt"
_GZIP_TYPES = frozenset({"application/gzip", "application/x-gzip", "application/octet-stream"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


class TooLarge(ValueError):
    """A body that is, or decompresses to, more than the cap."""


@dataclass
class _Host:
    """Politeness state of one host: requests in flight, and when the next may start."""

    slots: asyncio.Semaphore
    next_start: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class HttpClient:
    """Fetches URLs as FetchAttempts; never raises for what the network or the site does.

    Async, so that requests to different hosts overlap while each host sees at most
    `max_per_host` requests at once, spaced by `delay_seconds`. robots.txt is read once per host
    and honoured; 5xx, 429 and timeouts are retried with exponential backoff and jitter,
    Retry-After honoured; bodies over max_bytes (also after gunzip) are refused unread.
    """

    def __init__(self, user_agent: str = USER_AGENT) -> None:
        self._client = httpx.AsyncClient(
            headers={"User-Agent": user_agent},
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
        )
        self._hosts: dict[str, _Host] = {}
        self._robots: dict[str, asyncio.Task[RobotFileParser | None]] = {}

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        source_id: str,
        politeness: Politeness,
        validators: Validators | None = None,
    ) -> FetchAttempt:
        """GET a URL politely with retries; the last attempt's result is what gets recorded.

        With validators (from an earlier answer) the request is conditional, and a 304 comes
        back as outcome "not_modified".
        """
        if not await self.allowed(url, politeness):
            return FetchAttempt(
                source_id, url, "skipped", datetime.now(UTC), error=ROBOTS_DISALLOWED
            )
        attempt = 0
        while True:
            result, retry_after = await self._fetch_once(url, source_id, politeness, validators)
            retryable = result.outcome in ("timeout", "network_error") or (
                result.http_status in RETRY_STATUSES
            )
            if not retryable or attempt >= politeness.retries:
                return result
            if retry_after is not None and retry_after > MAX_RETRY_AFTER_SECONDS:
                return result  # the site asks for more patience than a run can give
            backoff = politeness.backoff_seconds * 2**attempt * (1 + random.random())
            await asyncio.sleep(max(backoff, retry_after or 0.0))
            attempt += 1

    async def allowed(self, url: str, politeness: Politeness) -> bool:
        """Whether the host's robots.txt lets us fetch this URL (read once per host)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = asyncio.ensure_future(self._read_robots(origin, politeness))
        rules = await self._robots[origin]
        return rules is None or rules.can_fetch(ROBOTS_AGENT, url)

    async def _read_robots(self, origin: str, politeness: Politeness) -> RobotFileParser | None:
        """The host's rules; None (everything allowed) when it has no readable robots.txt."""
        capped = replace(politeness, retries=0, max_bytes=ROBOTS_MAX_BYTES)
        attempt, _ = await self._fetch_once(origin + "/robots.txt", "", capped, None)
        if not attempt.ok:
            return None
        rules = RobotFileParser(origin + "/robots.txt")
        rules.parse((attempt.text or "").splitlines())
        return rules

    async def _wait_turn(self, host: _Host, delay: float) -> None:
        """Keep at least `delay` seconds between the starts of two requests to one host."""
        async with host.lock:
            now = time.monotonic()
            start = max(now, host.next_start)
            host.next_start = start + delay
        if start > now:
            await asyncio.sleep(start - now)

    async def _fetch_once(
        self,
        url: str,
        source_id: str,
        politeness: Politeness,
        validators: Validators | None,
    ) -> tuple[FetchAttempt, float | None]:
        netloc = urlsplit(url).netloc
        host = self._hosts.setdefault(
            netloc, _Host(asyncio.Semaphore(max(1, politeness.max_per_host)))
        )
        headers = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        async with host.slots:
            await self._wait_turn(host, politeness.delay_seconds)
            return await self._get(url, source_id, politeness, headers)

    async def _get(
        self, url: str, source_id: str, politeness: Politeness, headers: dict[str, str]
    ) -> tuple[FetchAttempt, float | None]:
        now = datetime.now(UTC)

        def failed(outcome: str, error: str, status: int | None = None) -> FetchAttempt:
            return FetchAttempt(source_id, url, outcome, now, http_status=status, error=error)

        try:
            async with self._client.stream(
                "GET", url, headers=headers, timeout=politeness.timeout_seconds
            ) as response:
                status = response.status_code
                content_type = response.headers.get("content-type", "")
                validators = Validators(
                    response.headers.get("etag"), response.headers.get("last-modified")
                )
                if status == 304:
                    attempt = FetchAttempt(
                        source_id, url, "not_modified", now, http_status=304, validators=validators
                    )
                    return attempt, None
                if status >= 400:
                    error = f"HTTP {status} {response.reason_phrase}"
                    retry_after = _retry_after_seconds(response.headers.get("retry-after"))
                    return failed("http_error", error, status), retry_after
                body = bytearray()
                async for chunk in response.aiter_bytes():  # decoded: the cap is after inflating
                    body.extend(chunk)
                    if len(body) > politeness.max_bytes:
                        return failed(
                            "too_large", f"body exceeds {politeness.max_bytes} bytes", status
                        ), None
        except httpx.TimeoutException as exc:
            error = f"no answer within {politeness.timeout_seconds}s ({type(exc).__name__})"
            return failed("timeout", error), None
        except httpx.TooManyRedirects:
            return failed("redirect_loop", f"more than {MAX_REDIRECTS} redirects"), None
        except (httpx.HTTPError, OSError) as exc:
            return failed("network_error", f"{type(exc).__name__}: {exc}"), None
        media_type = content_type.split(";")[0].strip().lower()
        if _is_gzip_file(bytes(body[:2]), media_type, url):
            try:
                body = bytearray(gunzip(bytes(body), politeness.max_bytes))
            except TooLarge as exc:
                return failed("too_large", str(exc), status), None
            except zlib.error as exc:
                return failed("network_error", f"broken gzip file: {exc}", status), None
        if not body.strip():
            return failed("empty", "empty response body", status), None
        return FetchAttempt(
            source_id,
            url,
            "ok",
            now,
            http_status=status,
            content_type=media_type or None,
            text=decode_body(bytes(body), content_type),
            validators=validators,
        ), None


def gunzip(data: bytes, max_bytes: int) -> bytes:
    """Inflate a .gz file, refusing (TooLarge) to produce more than max_bytes: no gzip bombs."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = inflater.decompress(data, max_bytes + 1)
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise TooLarge(f"body inflates to more than {max_bytes} bytes")
    return out


def _is_gzip_file(head: bytes, media_type: str, url: str) -> bool:
    """A gzip file served as such (a .gz sitemap), not a Content-Encoding httpx already undid."""
    gz_name = urlsplit(url).path.endswith(".gz")
    return head == b"\x1f\x8b" and (media_type in _GZIP_TYPES or gz_name)


def decode_body(body: bytes, content_type: str = "") -> str:
    """Decode in the order browsers use: header charset, BOM, <meta> charset, then detection.

    One exception: text that is valid UTF-8 beyond ASCII is UTF-8 whatever a header or meta tag
    claims (a legacy charset's text is practically never valid UTF-8, and misconfigured servers
    often send UTF-8 pages as windows-1251). Bytes not valid in the chosen encoding become
    U+FFFD rather than failing the page.
    """
    for candidate in (_header_charset(content_type), _bom_charset(body), _meta_charset(body)):
        if candidate and _known_codec(candidate):
            if not body.isascii() and _is_utf8(body) and not candidate.startswith("utf-16"):
                return body.decode("utf-8").lstrip("\ufeff")
            return body.decode(candidate, errors="replace").lstrip("\ufeff")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        guess = charset_normalizer.from_bytes(body).best()
        return str(guess) if guess is not None else body.decode("utf-8", errors="replace")


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _header_charset(content_type: str) -> str | None:
    match = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_.:-]+)", content_type, re.I)
    return match.group(1) if match else None


def _bom_charset(body: bytes) -> str | None:
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            return name
    return None


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii") if match else None


def _known_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds, from either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None
