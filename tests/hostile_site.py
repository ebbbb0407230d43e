"""A hostile news site on 127.0.0.1, and a trap listener on 127.0.0.2 that must stay silent.

The site speaks raw HTTP/1.1 over keep-alive connections, so it can lie the ways real servers
do: drip a body byte by byte, announce a wrong Content-Length, cut a compressed stream short,
send a decompression bomb, name charsets that are not text encodings, redirect to cloud
metadata, and list links into the host's own network. Every answer is built here, in Python,
so a test reads what the site does next to what the crawler must make of it.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
import zstandard

ARTICLE = (
    "<html><head><title>Flood in Derbent</title></head><body><nav>Home | World | Sport</nav>"
    "<article><h1>Flood in Derbent</h1>"
    + "".join(
        f"<p>Paragraph {i}: rescuers evacuated residents of the coastal districts after the "
        "river broke its banks overnight, officials said on Tuesday morning.</p>"
        for i in range(12)
    )
    + "</article></body></html>"
)
MENU = ARTICLE[: ARTICLE.index("<article>")]  # what a short Content-Length leaves of the page
RUSSIAN = (
    "<html><head><title>Наводнение в Дербенте</title></head><body><article>"
    + "".join(
        f"<p>Абзац {i}: спасатели эвакуировали жителей прибрежных районов после того, как "
        "река вышла из берегов ночью, сообщили чиновники во вторник утром.</p>"
        for i in range(12)
    )
    + "</article></body></html>"
)
# 40,000 paragraphs of words in 4 MB: under max_page_elements and max_bytes, yet about 15 s of
# CPU to extract on this machine (trafilatura's cost grows faster than the page)
COSTLY = (
    "<html><head><title>Costly</title></head><body><article>"
    + "".join(
        f"<p>Paragraph {i}: rescuers evacuated residents of the coastal districts after the "
        "river broke its banks overnight.</p>"
        for i in range(40_000)
    )
    + "</article></body></html>"
)
XHTML = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
    '<html xmlns="http://www.w3.org/1999/xhtml" lang="en">' + ARTICLE.removeprefix("<html>")
)

Handler = Callable[["Request"], bytes | Iterator[bytes]]
"""Raw response bytes; or chunks sent one by one, after which the connection is closed."""


@dataclass(frozen=True)
class Request:
    """A request as the site received it."""

    method: str
    path: str
    headers: dict[str, str]
    time: float


def response(
    body: bytes | str,
    status: str = "200 OK",
    content_type: str = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
    length: int | None = None,
) -> bytes:
    """Raw HTTP/1.1 response bytes; `length` overrides the Content-Length (to lie with it)."""
    data = body.encode() if isinstance(body, str) else body
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append(f"Content-Length: {len(data) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def redirect(location: str, status: str = "302 Found") -> bytes:
    return response(b"", status, headers={"Location": location})


def encoded(body: str, encoding: str, cut: bool = False) -> bytes:
    """An HTML body sent with a Content-Encoding; `cut` drops its second half."""
    data = compress(body.encode(), encoding)
    if cut:
        data = data[: len(data) // 2]
    return response(data, headers={"Content-Encoding": encoding})


def compress(data: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(data)
    if encoding == "deflate":
        return zlib.compress(data)
    return zstandard.ZstdCompressor().compress(data)


def bomb(encoding: str, megabytes: int) -> bytes:
    """A few KB that inflate to `megabytes` MB of zeros, compressed in steps (little memory)."""
    chunk = bytes(1 << 20)
    if encoding == "zstd":
        compressor = zstandard.ZstdCompressor(level=3).compressobj()
        data = b"".join(compressor.compress(chunk) for _ in range(megabytes))
        return data + compressor.flush()
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    deflater = zlib.compressobj(9, zlib.DEFLATED, wbits)
    data = b"".join(deflater.compress(chunk) for _ in range(megabytes))
    return data + deflater.flush()


def feed(links: list[str], title: str = "Hostile feed") -> str:
    items = "".join(
        f"<item><title>Story {i}</title><link>{link}</link></item>" for i, link in enumerate(links)
    )
    channel = f"<channel><title>{title}</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


def sitemap_index(locations: list[str]) -> str:
    entries = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locations)
    return f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'


def urlset(locations: list[str]) -> str:
    entries = "".join(f"<url><loc>{loc}</loc></url>" for loc in locations)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'


@dataclass
class HostileSite:
    """A raw HTTP/1.1 server: routes map a path to raw bytes or a handler of the request.

    Requests and connections are counted; `host` is the address it binds (127.0.0.1, or
    127.0.0.2 for the trap that must receive nothing).
    """

    routes: dict[str, Handler] = field(default_factory=dict)
    host: str = "127.0.0.1"
    requests: list[Request] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self._socket = socket.create_server((self.host, 0))
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self._socket.getsockname()[1]}"

    @property
    def port(self) -> int:
        return self._socket.getsockname()[1]

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, answer: bytes | Handler) -> None:
        """Answer a path with fixed bytes, or with a handler of the request."""
        self.routes[path] = answer if callable(answer) else (lambda _request: answer)

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def __enter__(self) -> HostileSite:
        self._socket.settimeout(0.05)
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._socket.close()

    def serve_sitemap(self, paths: list[str], answer: bytes | Handler) -> None:
        """Serve each path, list them all in /sitemap.xml, and allow every robot."""
        for path in paths:
            self.route(path, answer)
        listing = urlset([self.url(path) for path in paths])
        self.route("/sitemap.xml", response(listing, content_type="application/xml"))
        self.route("/robots.txt", response("User-agent: *\n", content_type="text/plain"))

    def sitemap_sources(
        self, path: Path, source_id: str, max_per_host: int, **extra: object
    ) -> Path:
        """Write a sources.yaml at `path` with one sitemap source of this site (as served by
        serve_sitemap), no delay, no retries, and any other fields given; returns the path."""
        source = {
            "id": source_id,
            "name": source_id.title(),
            "kind": "sitemap",
            "base_url": self.base_url,
            "sitemap_url": "/sitemap.xml",
            "politeness": {"delay_seconds": 0, "max_per_host": max_per_host, "retries": 0},
            **extra,
        }
        path.write_text(yaml.safe_dump({"sources": [source]}), encoding="utf-8")
        return path

    def wait(self, seconds: float) -> bool:
        """Sleep as a handler, waking early when the site stops; False once it has stopped."""
        return not self._stopping.wait(seconds)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        buffer = b""
        with conn:
            while not self._stopping.is_set():
                while b"\r\n\r\n" not in buffer:
                    try:
                        data = conn.recv(65536)
                    except TimeoutError:
                        if self._stopping.is_set():
                            return
                        continue
                    except OSError:
                        return
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _version = lines[0].split(" ", 2)
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines[1:])
                }
                request = Request(method, path, headers, time.monotonic())
                with self._lock:
                    self.requests.append(request)
                handler = self.routes.get(path)
                reply = handler(request) if handler else response("not here", "404 Not Found")
                try:
                    if isinstance(reply, bytes):
                        conn.sendall(reply)
                        continue
                    for chunk in reply:
                        conn.sendall(chunk)
                except OSError:
                    pass
                return


def drip(site: HostileSite, body: bytes, per_second: int = 1) -> Handler:
    """Announce a body, then send it `per_second` bytes a second for as long as anyone listens."""

    def handler(request: Request) -> Iterator[bytes]:
        yield response(b"", length=len(body))
        for start in range(0, len(body), per_second):
            if not site.wait(1.0):
                return
            yield body[start : start + per_second]

    return handler


@dataclass
class InFlight:
    """Requests in flight at once at the sites that share it, and the most seen: what
    politeness is measured by at the server."""

    busy: int = 0
    peak: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def slow(self, site: HostileSite, answer: bytes, seconds: float = 0.2) -> Handler:
        """A handler that answers after `seconds`, counted while it waits."""

        def handler(request: Request) -> bytes:
            with self._lock:
                self.busy += 1
                self.peak = max(self.peak, self.busy)
            site.wait(seconds)
            with self._lock:
                self.busy -= 1
            return answer

        return handler
