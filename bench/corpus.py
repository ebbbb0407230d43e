"""A replicated news site on 127.0.0.1 for the ingest and frontier benchmarks.

    .venv/bin/python bench/corpus.py [--pages real|synthetic]   # prints its base URL

Copy n of the corpus is base page n % len(pages), made distinct by "Copy n." in its title and
at the start of its first article paragraph (so text dedup keeps every copy). The real pages are
178 of the 181 of the article-extraction benchmark; synthetic ones are small pages made of the
first paragraphs of its gold texts (for benchmarks about the frontier, not extraction). Paths,
all computed, none stored:

    /a/N.html              copy N
    /r/N.html              301 to /a/N.html (a redirect alias)
    /c/N.html              copy N naming /a/N.html as its rel=canonical (a same-site alias)
    /sitemap/S-E-K.xml     a urlset of /a/S.html ... /a/(E-1).html, where the first K entries
                           are listed as aliases instead (/r/ and /c/ in turn) of articles listed
                           further on, so every alias resolves to a listed article
    /robots.txt            allows everything

The server is a separate process (ThreadingHTTPServer), so it neither shares the measured
process's interpreter nor counts in its memory. No validators (ETag, Last-Modified) are sent:
every run reads the listing and decides what is due from the frontier.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trafilatura
import yaml

BENCHMARK = Path(__file__).resolve().parents[2] / "shared/benchmarks/article-extraction-benchmark"
ROOT = Path(__file__).resolve().parent.parent

# A page as its parts around the two places where a copy's marker goes (title, first paragraph).
Parts = tuple[bytes, bytes, bytes]


def real_pages(directory: Path = BENCHMARK) -> list[Parts]:
    """The benchmark's pages, split where the marker goes: after <title>, before the article.

    Pages where no marker position survives extraction are left out.
    """
    gold = json.loads((directory / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for digest, entry in sorted(gold.items()):
        html = gzip.decompress((directory / "html" / f"{digest}.html.gz").read_bytes())
        with suppress(ValueError):  # left out: its copies could not be told apart (3 of 181)
            pages.append(_split(html, entry["articleBody"]))
    return pages


def synthetic_pages(directory: Path = BENCHMARK) -> list[Parts]:
    """Small pages around the first paragraphs of the gold texts: real prose, cheap to extract."""
    gold = json.loads((directory / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for i, (_, entry) in enumerate(sorted(gold.items())):
        paragraphs = [p for p in entry["articleBody"].split("\n") if len(p) > 80][:4]
        if not paragraphs:
            continue
        body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs[1:])
        head = "<html><head><title>"
        middle = (
            f"Story {i}</title></head><body><nav>Home | World</nav><article><h1>Story {i}</h1><p>"
        )
        tail = (
            f"{escape(paragraphs[0])}</p>{body}</article><footer>(c) Bench</footer></body></html>"
        )
        pages.append((head.encode(), middle.encode(), tail.encode()))
    return pages


def _split(html: bytes, gold: str) -> Parts:
    """Cut points after <title> and where the article text starts, checked by extracting a copy.

    The first place where the gold text's opening words start a text node is usually right;
    where trafilatura drops that node (a teaser, a hidden block), the next candidates are tried.
    """
    title = re.search(rb"<title[^>]*>", html, re.I)
    at_title = title.end() if title else 0
    candidates = []
    for separator in (_WORDS_APART, _WORDS_APART_OR_TAGGED):
        candidates += [at for at in _text_starts(html, gold, separator) if at > at_title]
    for at in list(dict.fromkeys(candidates))[:MAX_TRIES]:
        parts = html[:at_title], html[at_title:at], html[at:]
        if "Copy 0." in (trafilatura.extract(page([parts], 0)) or ""):
            return parts
    raise ValueError("no place for a copy marker in the article text")


MAX_TRIES = 8
_WORDS_APART = rb"(?:\W|&#?\w+;)+"  # punctuation, spaces and entities between two words
_WORDS_APART_OR_TAGGED = rb"(?:\W|&#?\w+;|<[^>]*>)+"  # ...or inline tags (<strong>)


def _text_starts(html: bytes, text: str, separator: bytes) -> list[int]:
    """Where the text's first lines (the first may be a dateline) start text nodes of the page."""
    starts = []
    for line in text.strip().split("\n")[:3]:
        words = re.findall(r"\w+", line)[:4]
        pattern = separator.join(re.escape(w.encode()) for w in words)
        for match in re.finditer(pattern, html) if words else ():
            if html[: match.start()].rstrip().endswith(b">"):  # not a script's string
                starts.append(match.start())
    return starts


def sitemap_path(start: int, stop: int, aliases: int = 0) -> str:
    """The path of a listing of copies start..stop-1, the first `aliases` listed as aliases."""
    return f"/sitemap/{start}-{stop}-{aliases}.xml"


def alias_url(base: str, position: int, article: int) -> str:
    """The alias at a sitemap position: a redirect or a canonical-naming copy, in turn."""
    return f"{base}/{'r' if position % 2 == 0 else 'c'}/{article}.html"


def sitemap(base: str, start: int, stop: int, aliases: int) -> bytes:
    """A urlset whose first `aliases` entries are aliases of articles listed after them."""
    urls = []
    for n in range(start, stop):
        position = n - start
        if position < aliases:
            urls.append(alias_url(base, position, stop - 1 - position))
        else:
            urls.append(f"{base}/a/{n}.html")
    entries = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    ).encode()


def page(pages: list[Parts], n: int, canonical: str | None = None) -> bytes:
    """Copy n: its base page with "Copy n." in the title and the first paragraph."""
    head, middle, tail = pages[n % len(pages)]
    marker = f"Copy {n}. ".encode()
    if canonical:
        link = b'<link rel="canonical" href="%s">' % canonical.encode()
        head = re.sub(rb"(<head[^>]*>)", rb"\1" + link, head, count=1)
    return head + marker + middle + marker + tail


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        base = f"http://{self.headers.get('Host')}"
        if self.path == "/robots.txt":
            return self._reply(200, b"User-agent: *\nAllow: /\n", "text/plain")
        if m := re.fullmatch(r"/sitemap/(\d+)-(\d+)-(\d+)\.xml", self.path):
            start, stop, aliases = map(int, m.groups())
            return self._reply(200, sitemap(base, start, stop, aliases), "application/xml")
        if m := re.fullmatch(r"/([arc])/(\d+)\.html", self.path):
            kind, n = m.group(1), int(m.group(2))
            if kind == "r":
                return self._reply(301, b"", "text/html", {"Location": f"{base}/a/{n}.html"})
            canonical = f"{base}/a/{n}.html" if kind == "c" else None
            return self._reply(200, page(self.server.pages, n, canonical), "text/html")
        return self._reply(404, b"not found", "text/plain")

    def _reply(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: a benchmark's server logs nothing per request."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, pages: list[Parts]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pages = pages


@contextmanager
def served(kind: str = "real") -> Iterator[tuple[str, int]]:
    """The corpus server in its own process: yields its base URL and pid; stopped on exit."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--pages", kind], stdout=subprocess.PIPE, text=True
    )
    try:
        base = process.stdout.readline().strip() if process.stdout else ""
        if not base.startswith("http://"):
            raise RuntimeError(f"corpus server did not start (exit code {process.poll()})")
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(10)


def write_sources(path: Path, base: str, listing: str, workers_host_limit: int = 16) -> Path:
    """A sources.yaml with one sitemap source on the corpus server, allowed to be loopback."""
    source = {
        "id": "bench",
        "name": "Benchmark corpus",
        "kind": "sitemap",
        "base_url": base,
        "sitemap_url": listing,
        "language": "en",
        "allow_hosts": [base.removeprefix("http://")],
        "limits": {"max_urls_per_run": 1_000_000},
        "politeness": {"delay_seconds": 0, "max_per_host": workers_host_limit},
    }
    path.write_text(yaml.safe_dump({"sources": [source]}), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", choices=("real", "synthetic"), default="real")
    args = parser.parse_args(argv)
    pages = real_pages() if args.pages == "real" else synthetic_pages()
    server = _Server(pages)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    with suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
