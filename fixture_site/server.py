"""A real local HTTP server that impersonates every source, so tests and the demo need no network.

Each source is served under /<source id>/ from the static tree site/<source id>/; the text
placeholder {{base}} becomes that source's fixture base URL, so feeds and pages link back here.
Answers carry an ETag and a Last-Modified date and honour conditional GETs; after
publish_updates() the edited pages of updates/ are served in place of their first versions.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from fixture_site.catalog import SITE_DIR, UPDATES_DIR, Behaviour, bad_paths, legacy_encodings

PLACEHOLDER = b"{{base}}"
TEXT_TYPES = {
    ".html": "text/html",
    ".rss": "application/rss+xml",
    ".xml": "application/xml",
    ".json": "application/json",
    ".txt": "text/plain",
}
BINARY_TYPES = {".pdf": "application/pdf"}
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it, so tests can check politeness (timing, headers)."""

    time: float  # time.monotonic() when the request arrived
    method: str
    path: str  # including the query string
    headers: dict[str, str]  # names lower-cased
    status: int


@dataclass(frozen=True)
class Reply:
    """What to send back; `hang` stalls the reply until the server stops or the cap passes."""

    status: int
    content_type: str
    body: bytes
    hang: bool = False
    headers: tuple[tuple[str, str], ...] = ()


# A few hundred bytes that look like a PDF to anyone sniffing the content.
_PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
    b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>\nendobj\n"
    b"4 0 obj\n<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 770 Td (Doklad 2025) Tj ET\n"
    b"endstream\nendobj\n"
    b"trailer\n<< /Root 1 0 R /Size 5 >>\nstartxref\n0\n%%EOF\n"
)

# How each behaviour named in site/bad_paths.json answers.
BEHAVIOURS: dict[Behaviour, Reply] = {
    "empty": Reply(200, HTML, b""),
    "pdf": Reply(200, "application/pdf", _PDF),
    "server_error": Reply(500, "text/plain; charset=utf-8", b"Internal Server Error\n"),
    "timeout": Reply(200, HTML, b"<html><body><p>Too late.</p></body></html>", hang=True),
    # Location is resolved against the request path: the page redirects to itself, forever.
    "redirect_loop": Reply(302, HTML, b"", headers=(("Location", "./"),)),
    # Over the client's 5 MB default cap: must be cut off, not read into memory whole.
    "huge": Reply(200, HTML, b"<html><body>" + b"<p>" + b"x" * 6_000_000 + b"</p></body></html>"),
    # robots.txt disallows it: a polite client never asks, so this answer is never seen.
    "disallowed": Reply(200, HTML, b"<html><body><p>robots.txt was ignored</p></body></html>"),
}
_LEGACY = legacy_encodings()
NOT_FOUND = Reply(404, "text/plain; charset=utf-8", b"Not Found\n")


def _bad_replies() -> dict[str, Reply]:
    """Full request path -> misbehaving reply, from the data file."""
    return {f"/{b['source_id']}{b['path']}": BEHAVIOURS[b["behaviour"]] for b in bad_paths()}


def _pick_in_dir(directory: Path, query: Sequence[tuple[str, str]]) -> Path | None:
    """A folder answers with the file named `<param>=<value>.*` for a query param, else index.*.

    This is how the paged JSON API works: the cursor value picks the page's file.
    """
    files = {f.stem: f for f in sorted(directory.iterdir()) if f.is_file()}
    for name, value in query:
        if f"{name}={value}" in files:
            return files[f"{name}={value}"]
    return files.get("index")


def find_file(
    path: str, query: Sequence[tuple[str, str]] = (), root: Path = SITE_DIR
) -> Path | None:
    """The file that answers a URL path: the file itself, a folder's index, or `<path>.html`."""
    segments = [s for s in unquote(path).split("/") if s]
    if any(s.startswith(".") or "\\" in s for s in segments):
        return None  # no traversal, no hidden files
    target = root.joinpath(*segments)
    if target.is_file():
        return target
    if target.is_dir():
        return _pick_in_dir(target, query)
    html = target.with_name(target.name + ".html")
    return html if segments and html.is_file() else None


def resolve(target: str, base_url: str, bad: dict[str, Reply], updated: bool = False) -> Reply:
    """The reply for a request target (path and query) on a server at base_url.

    `<name>.gz` is served as the gzip file of `<name>` when only the latter is in the tree, so
    gzipped sitemaps keep readable sources and their {{base}} placeholders. With updated, a
    page edited in updates/ answers with its edited version.
    """
    parts = urlsplit(target)
    if parts.path in bad:
        return bad[parts.path]
    if parts.path.endswith(".gz") and find_file(parts.path) is None:
        plain = resolve(parts._replace(path=parts.path[:-3]).geturl(), base_url, bad, updated)
        if plain.status != 200:
            return plain
        return Reply(200, "application/gzip", gzip.compress(plain.body, mtime=0))
    query = parse_qsl(parts.query)
    edited = find_file(parts.path, query, UPDATES_DIR) if updated else None
    root = UPDATES_DIR if edited else SITE_DIR
    file = edited or find_file(parts.path, query)
    if file is None:
        return NOT_FOUND
    body = file.read_bytes()
    suffix = file.suffix.lower()
    if suffix not in TEXT_TYPES:
        return Reply(200, BINARY_TYPES.get(suffix, "application/octet-stream"), body)
    source = file.relative_to(root).parts[0]
    base = f"{base_url}/{source}" if (SITE_DIR / source).is_dir() else base_url
    body = body.replace(PLACEHOLDER, base.encode())
    if legacy := _LEGACY.get(file.relative_to(root).as_posix()):
        return Reply(200, TEXT_TYPES[suffix], body.decode("utf-8").encode(legacy))
    return Reply(200, f"{TEXT_TYPES[suffix]}; charset=utf-8", body)


class _Server(ThreadingHTTPServer):
    """The standard threading server, carrying the FixtureSite it serves."""

    daemon_threads = True
    site: FixtureSite


class _Handler(BaseHTTPRequestHandler):
    """Answers GET and HEAD from the site tree; records every request."""

    server: _Server
    server_version = "newsflow-fixture/1.0"

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, with_body: bool) -> None:
        """Resolve, record, maybe stall, then send; a client that has gone away is fine."""
        site = self.server.site
        arrived = time.monotonic()
        reply = site._throttled(self.path) or resolve(
            self.path, site.base_url, site._bad, site._updated.is_set()
        )
        etag = f'"{hashlib.sha1(reply.body).hexdigest()[:16]}"'
        modified = site._modified(self.path, etag) if reply.status == 200 else 0
        status = reply.status
        if status == 200 and self._unchanged(etag, modified):
            status = 304  # conditional GET, so clients can test their caching
        headers = {k.lower(): v for k, v in self.headers.items()}
        site._record(RequestRecord(arrived, self.command, self.path, headers, status))
        if reply.hang:
            site._stopping.wait(site.hang_seconds)
        try:
            self.send_response(status)
            self.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers:
                self.send_header(name, value)
            if status in (200, 304):
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", formatdate(modified, usegmt=True))
            body = reply.body if status != 304 else b""
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _unchanged(self, etag: str, modified: int) -> bool:
        """What a conditional GET asks: If-None-Match decides where given (RFC 9110)."""
        if (tags := self.headers.get("If-None-Match")) is not None:
            return etag in [tag.strip() for tag in tags.split(",")] or tags.strip() == "*"
        since = self.headers.get("If-Modified-Since")
        try:
            return since is not None and modified <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.site.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")


class FixtureSite:
    """The fixture server on 127.0.0.1, run from a daemon thread; use it as a context manager."""

    def __init__(
        self,
        port: int = 0,
        *,
        hang_seconds: float = 120.0,
        verbose: bool = False,
        rate_limit: Mapping[str, int] | None = None,
        retry_after_seconds: int = 1,
    ) -> None:
        """rate_limit maps request paths to how many times each first answers 429 Retry-After."""
        self.hang_seconds = hang_seconds
        self.verbose = verbose
        self.retry_after_seconds = retry_after_seconds
        self._refusals_left = dict(rate_limit or {})
        self._port = port
        self._bad = _bad_replies()
        self._server: _Server | None = None
        self._bound_port: int | None = None  # kept after stop(), so late handlers still resolve
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._updated = threading.Event()
        self._versions: dict[str, tuple[str, int]] = {}  # path -> (ETag, Last-Modified)

    def start(self) -> FixtureSite:
        """Bind (port 0 picks a free one) and serve in the background."""
        if self._server is not None:
            return self
        self._stopping = threading.Event()
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.site = self
        self._server = server
        self._bound_port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fixture-site:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release stalled requests, stop serving and close the socket; safe to call twice."""
        self._stopping.set()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FixtureSite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port."""
        if self._bound_port is None:
            raise RuntimeError("FixtureSite was never started; call start() first")
        return self._bound_port

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT, what the settings' base_url should be."""
        return f"http://127.0.0.1:{self.port}"

    def source_base(self, source_id: str) -> str:
        """The URL that stands in for a source's real base_url."""
        return f"{self.base_url}/{source_id}"

    def url(self, source_id: str, path: str) -> str:
        """Full URL of a path under a source's base, e.g. a manifest entry's."""
        return self.source_base(source_id) + path

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def publish_updates(self) -> None:
        """From now on, pages edited in updates/ answer with their new version (a new ETag and
        a later Last-Modified), as a publisher's corrections do."""
        self._updated.set()

    def _modified(self, path: str, etag: str) -> int:
        """Last-Modified of a path's current body: when this server first sent it (whole
        seconds, and always later than the version before, so If-Modified-Since tells them
        apart)."""
        with self._lock:
            known = self._versions.get(path)
            if known and known[0] == etag:
                return known[1]
            moment = max(math.ceil(time.time()), known[1] + 1 if known else 0)
            self._versions[path] = (etag, moment)
            return moment

    def _throttled(self, path: str) -> Reply | None:
        """429 with Retry-After while a rate-limited path has refusals left, else None."""
        with self._lock:
            if self._refusals_left.get(path, 0) <= 0:
                return None
            self._refusals_left[path] -= 1
        retry_after = (("Retry-After", str(self.retry_after_seconds)),)
        return Reply(429, "text/plain; charset=utf-8", b"Too Many Requests\n", headers=retry_after)

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(record)
