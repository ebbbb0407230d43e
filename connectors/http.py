"""One polite HTTP client for every connector: addresses, robots.txt, per-server limits, caps.

Every request, each redirect hop included, is checked in this order: scheme and address (after
DNS, see connectors.addresses), the robots.txt of the host it goes to, then the concurrency
limit and delay of its server and its site (connectors.politeness). A redirect's Location
passes the URL boundary as soon as the answer's head arrives. A body is read raw and decoded
here, so decompression is capped while it streams, whatever Content-Encoding the server
picked; a body that ends early is `truncated`, never a short article. Nothing raises out of
fetch for what one URL does.

The roles live beside it: politeness per server and site (connectors.politeness), robots.txt
(connectors.robots), decoding bodies (connectors.decoding), the pinned network
(connectors.transport); HTML trees are connectors.markup's.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, replace

import httpcore
import httpx

from connectors import walls
from connectors.addresses import AddressPolicy, AddressRefused, Resolver, Target
from connectors.config import Politeness, Source
from connectors.decoding import (
    BodyError,
    TooLarge,
    Truncated,
    content_decoder,
    decode,
    decode_body,
    gunzip,
    is_gzip_file,
)
from connectors.politeness import Budget, Clock, HostLimiter, SystemClock, retry_after_seconds
from connectors.records import FetchAttempt, Outcome, Validators
from connectors.robots import Robots, robots_from, robots_url
from connectors.transport import PINNED, pinned_transport
from connectors.urls import RejectedUrl, web_url

USER_AGENT = "newsflow/0.1 (multilingual news research crawler; honours robots.txt)"
ACCEPT_ENCODING = "gzip, deflate, zstd"  # exactly the encodings decoded under the cap below
MAX_REDIRECTS = 5
MAX_RETRY_AFTER_SECONDS = 60.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class _Reply:
    """What one request came to: an attempt, or a redirect to follow."""

    attempt: FetchAttempt | None
    location: str | None = None
    retry_after: float | None = None
    retry: bool = True  # False when asking again in this run cannot change the answer
    wall: walls.Wall | None = None  # the bot wall that answered, if one did


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
            transport=transport or pinned_transport(),
            headers={"User-Agent": user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            follow_redirects=False,  # each hop is checked and paced here
            event_hooks={"response": [_checked_location]},
            trust_env=False,
        )
        self._clock = clock or SystemClock()
        self._policy = AddressPolicy(resolver)
        self._limiter = HostLimiter(self._clock)
        self._robots: dict[str, asyncio.Task[Robots]] = {}

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
        budget = Budget(politeness.deadline_seconds)
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
        budget: Budget,
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
            async with self._limiter.turn(target, politeness.max_per_host) as turn:
                if turn.wall is not None:  # never hammer a wall: it lifts in a later run, or not
                    return _Reply(self._walled(source, url, turn.wall.vendor), retry=False)
                await self._limiter.wait_turn(turn, politeness.delay_seconds)
                reply = await self._get(current, target, source, politeness, validators, budget)
            turn.walled(reply.wall)
            if reply.attempt is not None:
                final = current if current != first else None
                return replace(reply, attempt=replace(reply.attempt, url=url, final_url=final))
            current = reply.location or current
        error = f"more than {MAX_REDIRECTS} redirects"
        return _Reply(self._failed(source, url, Outcome.REDIRECT_LOOP, error), retry=False)

    async def _robots_of(self, url: str, source: Source) -> Robots:
        """The rules of the host a URL is on, read once per host (per scheme and port)."""
        where = robots_url(url)
        if where not in self._robots:
            self._robots[where] = asyncio.ensure_future(self._read_robots(where, source))
        return await self._robots[where]

    async def _read_robots(self, where: str, source: Source) -> Robots:
        """The robots.txt at where, fetched under the source's size cap and read as far as
        connectors.robots does (its first ROBOTS_MAX_BYTES)."""
        politeness = source.politeness
        reply = await self._follow(
            where, source, politeness, None, Budget(politeness.deadline_seconds), robots=False
        )
        assert reply.attempt is not None
        return robots_from(reply.attempt)

    async def _get(
        self,
        url: str,
        target: Target,
        source: Source,
        politeness: Politeness,
        validators: Validators | None,
        budget: Budget,
    ) -> _Reply:
        """One GET within what is left of the fetch's deadline, to the address checked."""
        headers = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        loop = asyncio.get_running_loop()
        started = loop.time()
        token = PINNED.set(target)
        try:
            async with asyncio.timeout(max(budget.seconds, 0.0)):
                return await self._exchange(url, source, politeness, headers)
        except TimeoutError:
            error = f"no complete answer within the {politeness.deadline_seconds:g}s deadline"
            return _Reply(self._failed(source, url, Outcome.TIMEOUT, error))
        finally:
            PINNED.reset(token)
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
                    return _Reply(None, location=location)  # checked by _checked_location
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
                    retry_after = retry_after_seconds(response.headers.get("retry-after"), now)
                    return replace(reply, retry_after=retry_after)
                connection, reading_body = _h11_connection(response), True
                body = await _read_body(response, politeness.max_bytes)
                content_type = response.headers.get("content-type", "")
                answer_headers = response.headers
        except BadLocation as exc:
            error = f"redirect to {exc.rejected}"
            return _Reply(self._failed(source, url, Outcome.REFUSED, error), retry=False)
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
            if is_gzip_file(body[:2], media_type, url):
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


class BadLocation(Exception):
    """A redirect's Location that the boundary refused (connectors.urls)."""

    def __init__(self, rejected: RejectedUrl) -> None:
        super().__init__(str(rejected))
        self.rejected = rejected


async def _checked_location(response: httpx.Response) -> None:
    """A redirect's Location through the one boundary, as soon as the answer's head arrives:
    httpx builds the next request from it even when it follows none, and raised on a data: or
    javascript: one (a crash) or a too long one (a network error). Refused as the redirect's
    own outcome instead; a good one is left in the one spelling, absolute."""
    location = response.headers.get("location")
    if response.status_code in _REDIRECTS and location:
        checked = web_url(location, str(response.request.url))
        if isinstance(checked, RejectedUrl):
            raise BadLocation(checked)
        response.headers["location"] = checked


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
    layers = [content_decoder(encoding, max_bytes) for encoding in reversed(encodings)]
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
