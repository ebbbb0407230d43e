"""One polite HTTP client for every connector: addresses, robots.txt, per-host limits, caps.

Every request, each redirect hop included, is checked in this order: scheme and address (after
DNS, see connectors.addresses), the robots.txt of the host it goes to, then that host's own
concurrency limit and delay. A body is read raw and decoded here, so decompression is capped
while it streams, whatever Content-Encoding the server picked; a body that ends early is
`truncated`, never a short article. Nothing raises out of fetch for what one URL does.
"""

from __future__ import annotations

import asyncio
import codecs
import contextvars
import random
import re
import time
import zlib
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import urlsplit

import charset_normalizer
import httpcore
import httpx
import lxml.etree
import lxml.html
import zstandard
from protego import Protego

from connectors import walls
from connectors.addresses import AddressPolicy, AddressRefused, Resolver, Target
from connectors.config import Politeness, Source
from connectors.records import Charset, CharsetSource, FetchAttempt, Outcome, Validators
from connectors.urls import RejectedUrl, web_url

USER_AGENT = "newsflow/0.1 (multilingual news research crawler; honours robots.txt)"
ROBOTS_AGENT = "newsflow"  # the token robots.txt groups are matched against
ACCEPT_ENCODING = "gzip, deflate, zstd"  # exactly the encodings decoded under the cap below
MAX_REDIRECTS = 5
MAX_RETRY_AFTER_SECONDS = 60.0
ROBOTS_MAX_BYTES = 500_000  # RFC 9309 asks parsers to read at least 500 KiB
ROBOTS_DISALLOWED = "disallowed by robots.txt"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_GZIP_TYPES = frozenset({"application/gzip", "application/x-gzip", "application/octet-stream"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
_MARKUP = re.compile(r"<(!doctype|html|head|body|article|main|div|p|h[1-6]|title)\b", re.I)
_SNIFF_CHARS = 8192
# Charsets read as their superset, as browsers do: a GB2312 or GBK label is really GB18030.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030"}
_ZSTD_STEP = 64  # compressed bytes per zstd call: bounds one call's output to a few MB


class BodyError(ValueError):
    """A body that cannot be accepted; `outcome` says how it is recorded."""

    outcome = Outcome.UNDECODABLE


class TooLarge(BodyError):
    """A body that is, or decompresses to, more than the cap."""

    outcome = Outcome.TOO_LARGE


class Truncated(BodyError):
    """A body that ended before its length or its compressed stream said it would."""

    outcome = Outcome.TRUNCATED


class NotHtml(BodyError):
    """A body that is binary data or another format, not an HTML page."""

    outcome = Outcome.NOT_HTML


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
class _Host:
    """Politeness state of one host: requests in flight, and when the next may start."""

    slots: asyncio.Semaphore
    next_start: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wall: walls.Wall | None = None  # a bot wall it answered with: asked no more this run


@dataclass
class _Budget:
    """Network time one fetch may still spend, over all its hops and retries."""

    seconds: float


@dataclass(frozen=True)
class _Robots:
    """A host's robots.txt rules; or, when it could not be read, how its URLs end this run."""

    rules: Protego | None = None
    outcome: Outcome | None = None  # set when every URL of the host is off limits this run
    http_status: int | None = None
    error: str | None = None

    def refusal(self, url: str) -> tuple[Outcome, int | None, str] | None:
        if self.outcome is not None:
            return self.outcome, self.http_status, self.error or ""
        if self.rules is not None and not self.rules.can_fetch(url, ROBOTS_AGENT):
            return Outcome.SKIPPED, None, ROBOTS_DISALLOWED
        return None


@dataclass(frozen=True)
class _Reply:
    """What one request came to: an attempt, or a redirect to follow."""

    attempt: FetchAttempt | None
    location: str | None = None
    retry_after: float | None = None
    retry: bool = True  # False when asking again in this run cannot change the answer
    wall: walls.Wall | None = None  # the bot wall that answered, if one did


# The address the policy checked for the request being sent, read by the network backend.
_PINNED: contextvars.ContextVar[Target | None] = contextvars.ContextVar("pinned", default=None)


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
        target = _PINNED.get()
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


def _pinned_transport() -> httpx.AsyncHTTPTransport:
    """httpx's transport, its connections made through _PinnedBackend (no proxies from env)."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    pool = transport._pool  # httpx offers no public seam for the network backend
    pool._network_backend = _PinnedBackend(pool._network_backend)
    return transport


class HttpClient:
    """Fetches URLs as FetchAttempts; never raises for what the network or the site does.

    Async, so that requests to different hosts overlap while each host sees at most
    `max_per_host` requests at once, spaced by `delay_seconds`. 5xx, 429, timeouts and
    truncated bodies are retried with exponential backoff and jitter, Retry-After honoured.
    transport, clock and resolver are seams for tests (httpx.MockTransport, a fake clock, a
    stub DNS); the defaults are the real network, time and resolver.
    """

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        resolver: Resolver | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        self._client = httpx.AsyncClient(
            transport=transport or _pinned_transport(),
            headers={"User-Agent": user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            follow_redirects=False,  # each hop is checked and paced here
            trust_env=False,
        )
        self._clock = clock or SystemClock()
        self._policy = AddressPolicy(resolver)
        self._hosts: dict[str, _Host] = {}
        self._robots: dict[str, asyncio.Task[_Robots]] = {}

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for task in self._robots.values():
            task.cancel()
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        source: Source,
        kind: str = "article",
        validators: Validators | None = None,
    ) -> FetchAttempt:
        """GET a URL of a source politely, with retries; the last try is what gets recorded.

        With validators (from an earlier answer) the request is conditional, and a 304 comes
        back as "not_modified". Any error while handling the URL ends it as "crashed".
        """
        try:
            attempt = await self._fetch(url, source, validators)
        except Exception as exc:  # one URL must never take down its source
            attempt = self._failed(source, url, Outcome.CRASHED, f"{type(exc).__name__}: {exc}")
        return replace(attempt, kind=kind)

    async def _fetch(self, url: str, source: Source, validators: Validators | None) -> FetchAttempt:
        politeness = source.politeness
        budget = _Budget(politeness.deadline_seconds)
        attempt = 0
        while True:
            reply = await self._follow(url, source, politeness, validators, budget)
            result, retry_after = reply.attempt, reply.retry_after
            assert result is not None  # _follow always ends in an attempt
            final = not (reply.retry and result.is_transient) or budget.seconds <= 0
            if final or attempt >= politeness.retries:
                return result
            if retry_after is not None and retry_after > MAX_RETRY_AFTER_SECONDS:
                return result  # the site asks for more patience than a run can give
            backoff = politeness.backoff_seconds * 2**attempt * (1 + random.random())
            await self._clock.sleep(max(backoff, retry_after or 0.0))
            attempt += 1

    async def _follow(
        self,
        url: str,
        source: Source,
        politeness: Politeness,
        validators: Validators | None,
        budget: _Budget,
        robots: bool = True,
    ) -> _Reply:
        """One try at a URL, following redirects; every hop is checked and paced on its own."""
        current = first = url
        for hop in range(MAX_REDIRECTS + 1):
            via = f"redirect to {current}: " if hop else ""
            checked = web_url(current)  # every hop through the one boundary, one spelling
            if isinstance(checked, RejectedUrl):
                error = f"{via}{checked}"
                return _Reply(self._failed(source, url, Outcome.REFUSED, error), retry=False)
            current, first = checked, first if hop else checked
            try:
                target = await self._policy.check(current, source)
            except AddressRefused as exc:
                error = f"{via}{exc}"
                return _Reply(self._failed(source, url, Outcome.REFUSED, error), retry=False)
            if robots and (refusal := (await self._robots_of(current, source)).refusal(current)):
                outcome, status, error = refusal
                attempt = self._failed(source, url, outcome, f"{via}{error}")
                return _Reply(replace(attempt, http_status=status), retry=False)
            host = self._host(target, politeness)
            async with host.slots:
                if host.wall is not None:  # never hammer a wall: it lifts in a later run, or not
                    return _Reply(self._walled(source, url, host.wall.vendor), retry=False)
                await self._wait_turn(host, politeness.delay_seconds)
                reply = await self._get(current, target, source, politeness, validators, budget)
            host.wall = host.wall or reply.wall
            if reply.attempt is not None:
                final = current if current != first else None
                return replace(reply, attempt=replace(reply.attempt, url=url, final_url=final))
            current = reply.location or current
        error = f"more than {MAX_REDIRECTS} redirects"
        return _Reply(self._failed(source, url, Outcome.REDIRECT_LOOP, error), retry=False)

    def _host(self, target: Target, politeness: Politeness) -> _Host:
        """The limiter of a server: by the address the policy resolved and checked, so every
        spelling of one server (127.1, localhost., 0x7f000001) waits its turn on one slot."""
        key = f"{target.address}:{target.port}"
        if key not in self._hosts:
            self._hosts[key] = _Host(asyncio.Semaphore(max(1, politeness.max_per_host)))
        return self._hosts[key]

    async def _robots_of(self, url: str, source: Source) -> _Robots:
        """The rules of the host a URL is on, read once per host (per scheme and port)."""
        robots_url = str(
            httpx.URL(url).copy_with(userinfo=b"", raw_path=b"/robots.txt", fragment=None)
        )
        if robots_url not in self._robots:
            self._robots[robots_url] = asyncio.ensure_future(self._read_robots(robots_url, source))
        return await self._robots[robots_url]

    async def _read_robots(self, robots_url: str, source: Source) -> _Robots:
        """RFC 9309: 2xx is parsed, 4xx means no rules, and an unreachable robots.txt (5xx, 429,
        no answer) means nothing on the host is fetched this run: those URLs end with the
        robots.txt failure itself, so a later run tries them again."""
        capped = replace(source.politeness, max_bytes=ROBOTS_MAX_BYTES)
        reply = await self._follow(
            robots_url, source, capped, None, _Budget(capped.deadline_seconds), robots=False
        )
        attempt = reply.attempt
        assert attempt is not None
        if attempt.ok:
            return _Robots(rules=Protego.parse(attempt.text or ""))
        status = attempt.http_status or 0
        if attempt.outcome == Outcome.EMPTY or (400 <= status < 500 and status != 429):
            return _Robots()
        error = f"robots.txt unreachable ({attempt.error or attempt.outcome}): not fetched this run"
        outcome = attempt.outcome if attempt.is_transient else Outcome.SKIPPED
        return _Robots(outcome=outcome, http_status=attempt.http_status, error=error)

    async def _wait_turn(self, host: _Host, delay: float) -> None:
        """Keep at least `delay` seconds between the starts of two requests to one host."""
        async with host.lock:
            now = self._clock.monotonic()
            start = max(now, host.next_start)
            host.next_start = start + delay
        if start > now:
            await self._clock.sleep(start - now)

    async def _get(
        self,
        url: str,
        target: Target,
        source: Source,
        politeness: Politeness,
        validators: Validators | None,
        budget: _Budget,
    ) -> _Reply:
        """One GET within what is left of the fetch's deadline, to the address checked."""
        headers = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        loop = asyncio.get_running_loop()
        started = loop.time()
        token = _PINNED.set(target)
        try:
            async with asyncio.timeout(max(budget.seconds, 0.0)):
                return await self._exchange(url, source, politeness, headers)
        except TimeoutError:
            error = f"no complete answer within the {politeness.deadline_seconds:g}s deadline"
            return _Reply(self._failed(source, url, Outcome.TIMEOUT, error))
        finally:
            _PINNED.reset(token)
            budget.seconds -= loop.time() - started

    async def _exchange(
        self, url: str, source: Source, politeness: Politeness, headers: dict[str, str]
    ) -> _Reply:
        now = self._clock.now()
        status: int | None = None
        connection: object | None = None
        reading_body = False

        def failed(outcome: Outcome, error: str, wall: walls.Wall | None = None) -> _Reply:
            attempt = FetchAttempt(source.id, url, outcome, now, status, error=error)
            return _Reply(attempt, retry=wall is None, wall=wall)

        try:
            async with self._client.stream(
                "GET", url, headers=headers, timeout=politeness.timeout_seconds
            ) as response:
                status = response.status_code
                validators = Validators(
                    response.headers.get("etag"), response.headers.get("last-modified")
                )
                location = response.headers.get("location")
                if status in _REDIRECTS and location:
                    target = web_url(location, url)
                    if isinstance(target, RejectedUrl):
                        error = f"redirect to {target}"
                        return _Reply(
                            self._failed(source, url, Outcome.REFUSED, error), retry=False
                        )
                    return _Reply(None, location=target)
                if status == 304:
                    return _Reply(
                        FetchAttempt(
                            source.id, url, Outcome.NOT_MODIFIED, now, 304, validators=validators
                        )
                    )
                if status >= 400:
                    if wall := await _error_wall(response):
                        return failed(Outcome.BLOCKED, wall.error, wall)
                    reply = failed(Outcome.HTTP_ERROR, f"HTTP {status} {response.reason_phrase}")
                    retry_after = _retry_after_seconds(response.headers.get("retry-after"), now)
                    return replace(reply, retry_after=retry_after)
                connection, reading_body = _h11_connection(response), True
                body = await _read_body(response, politeness.max_bytes)
                content_type = response.headers.get("content-type", "")
                answer_headers = response.headers
        except BodyError as exc:
            if isinstance(connection, httpcore.AsyncConnectionInterface):
                await connection.aclose()  # what is left of it must never be read as a reply
            return failed(exc.outcome, str(exc))
        except httpx.TimeoutException as exc:
            error = f"no answer within {politeness.timeout_seconds:g}s ({type(exc).__name__})"
            return failed(Outcome.TIMEOUT, error)
        except httpx.RemoteProtocolError as exc:
            if reading_body:  # the headers were fine: the body was cut off
                return failed(Outcome.TRUNCATED, f"body cut short: {exc}")
            return failed(Outcome.NETWORK_ERROR, f"RemoteProtocolError: {exc}")
        except (httpx.HTTPError, OSError) as exc:
            return failed(Outcome.NETWORK_ERROR, f"{type(exc).__name__}: {exc}")
        media_type = content_type.split(";")[0].strip().lower()
        try:
            if _is_gzip_file(body[:2], media_type, url):
                body = gunzip(body, politeness.max_bytes)
            if not body.strip():
                return failed(Outcome.EMPTY, "empty response body")
            text, charset = decode(body, content_type)
        except BodyError as exc:
            return failed(exc.outcome, str(exc))
        except Exception as exc:  # a codec that fails in its own way: this page only
            return failed(Outcome.UNDECODABLE, f"cannot decode body: {type(exc).__name__}: {exc}")
        if wall := walls.detect(status, answer_headers, text):  # a 2xx interstitial
            return failed(Outcome.BLOCKED, wall.error, wall)
        return _Reply(
            FetchAttempt(
                source.id,
                url,
                Outcome.OK,
                now,
                http_status=status,
                content_type=media_type or None,
                text=text,
                validators=validators,
                charset=charset,
            )
        )

    def _failed(self, source: Source, url: str, outcome: Outcome, error: str) -> FetchAttempt:
        return FetchAttempt(source.id, url, outcome, self._clock.now(), error=error)

    def _walled(self, source: Source, url: str, vendor: walls.Vendor) -> FetchAttempt:
        """A URL not requested because its host answered this run with a bot wall."""
        wall = walls.Wall(vendor, "not requested, the host answered with a challenge this run")
        return self._failed(source, url, Outcome.BLOCKED, wall.error)


async def _error_wall(response: httpx.Response) -> walls.Wall | None:
    """The bot wall an error answer is: its headers, then its body read up to a small cap."""
    if response.status_code not in walls.CHALLENGE_STATUSES:
        return None
    content_type = response.headers.get("content-type", "")
    try:
        text = decode_body(await _read_body(response, walls.MAX_CHALLENGE_BYTES), content_type)
    except Exception:  # an error body that cannot be read is no clue; the headers still are
        text = ""
    return walls.detect(response.status_code, response.headers, text)


async def _read_body(response: httpx.Response, max_bytes: int) -> bytes:
    """The body as the server meant it: Content-Encoding undone under the cap, length checked."""
    encodings = [
        e.strip().lower()
        for e in response.headers.get("content-encoding", "").split(",")
        if e.strip() and e.strip().lower() != "identity"
    ]
    layers = [_decoder(encoding, max_bytes) for encoding in reversed(encodings)]
    raw = 0
    body = bytearray()
    async for chunk in response.aiter_raw():
        raw += len(chunk)
        if raw > max_bytes:
            raise TooLarge(f"body exceeds {max_bytes} bytes")
        for layer in layers:
            chunk = layer.feed(chunk)
        body += chunk
        if len(body) > max_bytes:
            raise TooLarge(f"body inflates to more than {max_bytes} bytes")
    for layer in layers:
        layer.finish()
    if leftover := _unread_bytes(response):
        raise Truncated(f"body longer than its Content-Length ({leftover} bytes left over)")
    return bytes(body)


def _unread_bytes(response: httpx.Response) -> int:
    """Bytes the server sent beyond the body's Content-Length, still buffered on the connection.

    The page was then cut at a wrong length, and those bytes would be read as the next response.
    httpx does not expose this, so it is read from httpcore's HTTP/1.1 state; 0 where that is
    not there (HTTP/2, test transports).
    """
    state = getattr(_h11_connection(response), "_h11_state", None)
    trailing = getattr(state, "trailing_data", (b"", False))
    return len(trailing[0])


def _h11_connection(response: httpx.Response) -> object | None:
    """httpcore's HTTP/1.1 connection under a streamed response (private attributes, so None
    when a version of httpx or httpcore lays them out differently)."""
    stream: object | None = response.stream
    for name in ("_stream", "_httpcore_stream", "_stream", "_connection"):
        stream = getattr(stream, name, None)
    return stream


class _Decoder(Protocol):
    def feed(self, data: bytes) -> bytes: ...

    def finish(self) -> None: ...


class _Inflate:
    """gzip or deflate, never producing more than the cap; deflate may come with or without zlib
    headers, as servers disagree."""

    def __init__(self, wbits: int, max_bytes: int, raw_fallback: bool = False) -> None:
        self._inflater = zlib.decompressobj(wbits)
        self._max = max_bytes
        self._fallback = raw_fallback
        self._out = 0

    def feed(self, data: bytes) -> bytes:
        try:
            out = self._inflater.decompress(data, self._max - self._out + 1)
        except zlib.error as exc:
            if not self._fallback:
                raise BodyError(f"broken compressed body: {exc}") from exc
            self._fallback = False
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.feed(data)
        self._fallback = False
        self._out += len(out)
        if self._out > self._max or self._inflater.unconsumed_tail:
            raise TooLarge(f"body inflates to more than {self._max} bytes")
        return out

    def finish(self) -> None:
        if not self._inflater.eof:
            raise Truncated("compressed body ends before its stream does")


class _Unzstd:
    """zstd, fed in small steps so that a bomb is stopped a few MB past the cap, not at 4 GB."""

    def __init__(self, max_bytes: int) -> None:
        self._inflater = zstandard.ZstdDecompressor().decompressobj()
        self._max = max_bytes
        self._out = 0

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        for start in range(0, len(data), _ZSTD_STEP):
            try:
                out += self._inflater.decompress(data[start : start + _ZSTD_STEP])
            except zstandard.ZstdError as exc:
                raise BodyError(f"broken zstd body: {exc}") from exc
            if self._out + len(out) > self._max:
                raise TooLarge(f"body inflates to more than {self._max} bytes")
        self._out += len(out)
        return bytes(out)

    def finish(self) -> None:
        if not self._inflater.eof:
            raise Truncated("zstd body ends before its frame does")


def _decoder(encoding: str, max_bytes: int) -> _Decoder:
    if encoding in ("gzip", "x-gzip"):
        return _Inflate(16 + zlib.MAX_WBITS, max_bytes)
    if encoding == "deflate":
        return _Inflate(zlib.MAX_WBITS, max_bytes, raw_fallback=True)
    if encoding == "zstd":
        return _Unzstd(max_bytes)
    raise BodyError(f"unsupported Content-Encoding {encoding!r}")


def gunzip(data: bytes, max_bytes: int) -> bytes:
    """Inflate a .gz file, refusing (TooLarge) to produce more than max_bytes: no gzip bombs."""
    inflater = _Inflate(16 + zlib.MAX_WBITS, max_bytes)
    out = inflater.feed(data)
    inflater.finish()
    return out


def _is_gzip_file(head: bytes, media_type: str, url: str) -> bool:
    """A gzip file served as such (a .gz sitemap), not a Content-Encoding already undone."""
    gz_name = urlsplit(url).path.endswith(".gz")
    return head == b"\x1f\x8b" and (media_type in _GZIP_TYPES or gz_name)


def decode(body: bytes, content_type: str = "") -> tuple[str, Charset]:
    """The body's text and the charset that won: BOM, header, <meta> (or XML declaration), else
    detection from the bytes, the order browsers use.

    A declared charset is used only where the body agrees with it: it must decode without
    errors and keep the page's markup readable (an "utf-16" header over a windows-1251 page
    does neither), else the next clue is tried. Text that is valid UTF-8 beyond ASCII is UTF-8
    whatever a header or meta tag claims (a legacy charset's text is practically never valid
    UTF-8, and misconfigured servers often send UTF-8 pages as windows-1251). GB2312 and GBK
    are read as their superset GB18030, so names with rarer characters (镕, 堃) come out right.
    Names that are not text encodings (rot13, base64, hex) are ignored.
    """
    if bom := _bom_charset(body):
        with suppress(UnicodeDecodeError):
            text = body.decode(bom).lstrip("\ufeff")
            return text, Charset(_codec(bom).removesuffix("-sig"), CharsetSource.BOM)
    clues = (
        (_header_charset(content_type), CharsetSource.HEADER),
        (_meta_charset(body) or _xml_encoding(body), CharsetSource.META),
    )
    if not body.isascii() and _is_utf8(body):
        said = next((how for name, how in clues if name and _codec(name) == "utf-8"), None)
        return body.decode("utf-8"), Charset("utf-8", said or CharsetSource.DETECTED)
    for name, how in clues:
        if name and _is_text_codec(name):
            codec = _SUPERSETS.get(_codec(name), _codec(name))
            try:
                text = body.decode(codec)
            except UnicodeDecodeError:
                continue
            if b"<" not in body or "<" in text:
                return text, Charset(codec, how)
    if _is_utf8(body):
        return body.decode("utf-8"), Charset("utf-8", CharsetSource.DETECTED)
    guess = charset_normalizer.from_bytes(body).best()
    if guess is None:
        return body.decode("utf-8", errors="replace"), Charset("utf-8", CharsetSource.DETECTED)
    codec = _SUPERSETS.get(_codec(guess.encoding), _codec(guess.encoding))
    return body.decode(codec, errors="replace"), Charset(codec, CharsetSource.DETECTED)


def decode_body(body: bytes, content_type: str = "") -> str:
    """The body's text, decoded as `decode` decides."""
    return decode(body, content_type)[0]


def html_text(body: bytes, content_type: str = "") -> str:
    """A page's text when the bytes are an HTML page; NotHtml for binary data or other formats.

    For bodies whose type nobody declared (saved files): NUL bytes outside UTF-16/32 mean
    binary, and a page must have some markup early on.
    """
    text = decode_body(body, content_type)
    if "\x00" in text[:_SNIFF_CHARS] or not _MARKUP.search(text[:_SNIFF_CHARS]):
        kind = "binary data" if b"\x00" in body[:_SNIFF_CHARS] else "text without HTML markup"
        raise NotHtml(f"not an HTML page ({kind})")
    return text


def parse_html(text: str) -> lxml.html.HtmlElement:
    """An HTML (or XHTML) document tree; ValueError or lxml's ParserError when there is none.

    An XML declaration with an encoding is dropped first: the text is already decoded, and lxml
    refuses a str that declares its own encoding. Comments and processing instructions are
    never text; left in the tree, trafilatura stops at them inside a story's body (two pages of
    the English benchmark lost half their text). A parser per call: lxml's are not thread-safe.
    """
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False)
    parser.set_element_class_lookup(_HTML_CLASSES)
    return lxml.html.document_fromstring(without_xml_declaration(text), parser=parser)


# Every element an HtmlElement, chosen in C. lxml.html's own lookup calls Python for each element
# object made, to give form fields their own classes, which nothing here uses: trafilatura's
# copies of the tree make such objects for every element, several times a page (5% of the page
# path's time on the extraction benchmark, the same output).
_HTML_CLASSES = lxml.etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement,
    comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity,
)


def without_xml_declaration(text: str) -> str:
    """Decoded text without its `<?xml ... encoding=...?>`, which no longer says how it is encoded
    (a parser that believed it would decode the text a second time)."""
    return _XML_DECLARATION.sub("", text, count=1)


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


def _xml_encoding(body: bytes) -> str | None:
    match = _XML_ENCODING.match(body[:1024])
    return match.group(1).decode("ascii") if match else None


def _codec(name: str) -> str:
    """Python's own name of a codec (cp1251 for windows-1251, utf-8 for UTF8), else the name."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name.lower()


def _is_text_codec(name: str) -> bool:
    """A codec that turns bytes into text; rot13, base64 and hex are codecs, but not these."""
    try:
        return codecs.lookup(name)._is_text_encoding
    except LookupError:
        return False


def _retry_after_seconds(value: str | None, now: datetime) -> float | None:
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
