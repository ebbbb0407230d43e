"""One polite HTTP client for every connector: timeouts, retries, size cap, decoding."""

from __future__ import annotations

import codecs
import random
import re
import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import charset_normalizer
import httpx

from connectors.config import Politeness
from connectors.records import FetchAttempt

USER_AGENT = "newsflow/0.1 (multilingual news research crawler; honours robots.txt)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5
MAX_RETRY_AFTER_SECONDS = 60.0
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


class HttpClient:
    """Fetches URLs as FetchAttempts; never raises for what the network or the site does.

    Requests to one host are spaced by the source's delay; 5xx, 429 and timeouts are retried
    with exponential backoff and jitter (Retry-After honoured); bodies over max_bytes are cut
    off and recorded as too_large rather than read into memory.
    """

    def __init__(self, user_agent: str = USER_AGENT) -> None:
        self._client = httpx.Client(
            headers={"User-Agent": user_agent},
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
        )
        self._last_request: dict[str, float] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str, source_id: str, politeness: Politeness) -> FetchAttempt:
        """GET a URL with retries; the last attempt's result is what gets recorded."""
        attempt = 0
        while True:
            result, retry_after = self._fetch_once(url, source_id, politeness)
            retryable = result.outcome in ("timeout", "network_error") or (
                result.http_status in RETRY_STATUSES
            )
            if not retryable or attempt >= politeness.retries:
                return result
            backoff = politeness.backoff_seconds * 2**attempt * (1 + random.random())
            time.sleep(min(MAX_RETRY_AFTER_SECONDS, max(backoff, retry_after or 0.0)))
            attempt += 1

    def _wait_turn(self, url: str, delay: float) -> None:
        """Keep at least `delay` seconds between two requests to the same host."""
        host = urlsplit(url).netloc
        with self._lock:
            now = time.monotonic()
            start = max(now, self._last_request.get(host, 0.0) + delay)
            self._last_request[host] = start
        if start > now:
            time.sleep(start - now)

    def _fetch_once(
        self, url: str, source_id: str, politeness: Politeness
    ) -> tuple[FetchAttempt, float | None]:
        self._wait_turn(url, politeness.delay_seconds)
        now = datetime.now(UTC)

        def failed(outcome: str, error: str, status: int | None = None) -> FetchAttempt:
            return FetchAttempt(source_id, url, outcome, now, http_status=status, error=error)

        try:
            with self._client.stream("GET", url, timeout=politeness.timeout_seconds) as response:
                status = response.status_code
                content_type = response.headers.get("content-type", "")
                if status >= 400:
                    error = f"HTTP {status} {response.reason_phrase}"
                    retry_after = _retry_after_seconds(response.headers.get("retry-after"))
                    return failed("http_error", error, status), retry_after
                body = bytearray()
                for chunk in response.iter_bytes():
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
        if not body.strip():
            return failed("empty", "empty response body", status), None
        return FetchAttempt(
            source_id,
            url,
            "ok",
            now,
            http_status=status,
            content_type=content_type.split(";")[0].strip().lower() or None,
            text=decode_body(bytes(body), content_type),
        ), None


def decode_body(body: bytes, content_type: str = "") -> str:
    """Decode in the order browsers use: header charset, BOM, <meta> charset, then detection.

    Bytes that are not valid in the chosen encoding become U+FFFD rather than failing the page.
    """
    for candidate in (_header_charset(content_type), _bom_charset(body), _meta_charset(body)):
        if candidate and _known_codec(candidate):
            return body.decode(candidate, errors="replace").lstrip("\ufeff")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        guess = charset_normalizer.from_bytes(body).best()
        return str(guess) if guess is not None else body.decode("utf-8", errors="replace")


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
