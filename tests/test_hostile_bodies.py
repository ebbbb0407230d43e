"""Bodies from a hostile server: slow drips, wrong lengths, cut or bombing compression, lying
charsets. Each ends its own URL with a reason; none costs memory past the cap or another URL
its result."""

import asyncio
import time
import tracemalloc
from dataclasses import replace
from functools import cache

import pytest
from hostile_site import (
    ARTICLE,
    MENU,
    RUSSIAN,
    XHTML,
    HostileSite,
    bomb,
    drip,
    encoded,
    redirect,
    response,
)

from connectors.config import Politeness, Source
from connectors.decoding import decode_body
from connectors.discovery import discover
from connectors.http import HttpClient
from processing.extract import extract

pytestmark = pytest.mark.anyio

FAST = Politeness(timeout_seconds=3.0, retries=0, delay_seconds=0, deadline_seconds=2.0)


@pytest.fixture
def site():
    with HostileSite() as hostile:
        hostile.route("/robots.txt", response("", "404 Not Found"))
        hostile.route("/article", response(ARTICLE))
        yield hostile


def _source(site: HostileSite, politeness: Politeness = FAST) -> Source:
    return Source("hostile", "Hostile", "feed", site.base_url, politeness=politeness)


async def _fetch(site: HostileSite, path: str, politeness: Politeness = FAST):
    async with HttpClient() as client:
        return await client.fetch(site.url(path), _source(site, politeness))


async def test_a_drip_fed_body_ends_at_the_total_deadline_and_is_not_retried(site):
    """1 byte a second never trips the 3 s read timeout; the 2 s deadline ends it."""
    site.route("/drip", drip(site, ARTICLE.encode()))
    started = time.monotonic()
    attempt = await _fetch(site, "/drip", replace(FAST, retries=2))
    elapsed = time.monotonic() - started
    assert attempt.outcome == "timeout" and "2s deadline" in attempt.error
    assert 1.9 < elapsed < 3.5
    assert site.paths().count("/drip") == 1  # the deadline is spent: no retry


async def test_a_short_content_length_is_truncated_and_does_not_poison_the_connection(site):
    """The server announces 200-odd bytes (the menu) and sends the whole page."""
    site.route("/short", response(ARTICLE, length=len(MENU)))
    async with HttpClient() as client:
        short = await client.fetch(site.url("/short"), _source(site))
        after = await client.fetch(site.url("/article"), _source(site))
    assert short.outcome == "truncated" and short.text is None
    assert "longer than its Content-Length" in short.error and short.is_transient
    assert after.outcome == "ok" and after.text == ARTICLE


async def test_a_body_cut_before_its_content_length_is_truncated(site):
    def cut(request):
        yield response(ARTICLE, length=len(ARTICLE) + 1000)  # then the server hangs up

    site.route("/cut", cut)
    attempt = await _fetch(site, "/cut")
    assert attempt.outcome == "truncated" and attempt.text is None


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "zstd"])
async def test_a_truncated_compressed_body_is_truncated_not_a_short_article(site, encoding):
    site.route("/whole", encoded(ARTICLE, encoding))
    site.route("/cut", encoded(ARTICLE, encoding, cut=True))
    whole, cut = await _fetch(site, "/whole"), await _fetch(site, "/cut")
    assert whole.outcome == "ok" and whole.text == ARTICLE
    assert cut.outcome == "truncated" and cut.text is None


@cache
def _bomb(encoding: str) -> bytes:
    return bomb(encoding, 1024 if encoding == "zstd" else 100)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "zstd"])
async def test_a_decompression_bomb_is_stopped_while_it_streams(site, encoding):
    """A few hundred KB that inflate to 100 MB - 1 GB: refused after about the 1 MB cap."""
    payload = _bomb(encoding)
    assert len(payload) < 300_000
    site.route("/bomb", response(payload, headers={"Content-Encoding": encoding}))
    tracemalloc.start()
    try:
        attempt = await _fetch(site, "/bomb", replace(FAST, max_bytes=1_000_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert attempt.outcome == "too_large" and "inflates" in attempt.error
    assert peak < 20_000_000


async def test_an_encoding_that_was_not_offered_is_undecodable(site):
    site.route("/br", response(b"\x8b\x02\x80hello\x03", headers={"Content-Encoding": "br"}))
    attempt = await _fetch(site, "/br")
    assert attempt.outcome == "undecodable" and "'br'" in attempt.error


@pytest.mark.parametrize("charset", ["rot13", "base64", "hex", "zlib", "no-such-charset"])
async def test_a_charset_that_is_no_text_encoding_does_not_break_the_page(site, charset):
    site.route("/page", response(ARTICLE, content_type=f"text/html; charset={charset}"))
    attempt = await _fetch(site, "/page")
    assert attempt.outcome == "ok" and attempt.text == ARTICLE


async def test_a_header_charset_that_contradicts_the_body_falls_back_to_detection(site):
    body = RUSSIAN.encode("cp1251")
    site.route("/page", response(body, content_type="text/html; charset=utf-16"))
    attempt = await _fetch(site, "/page")
    assert attempt.outcome == "ok" and attempt.text == RUSSIAN


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (RUSSIAN.encode("cp1251"), "text/html; charset=utf-32"),
        (RUSSIAN.encode("cp1251"), "text/html; charset=utf-16"),
        (RUSSIAN.encode("cp1251"), "text/html; charset=rot13"),
        (b'<meta charset="base64">' + RUSSIAN.encode("cp1251"), "text/html"),
    ],
)
def test_decoding_takes_no_charset_on_trust(body, content_type):
    assert "спасатели эвакуировали жителей" in decode_body(body, content_type)


async def test_xhtml_with_an_xml_declaration_is_extracted(site):
    site.route("/xhtml", response(XHTML, content_type="application/xhtml+xml; charset=utf-8"))
    attempt = await _fetch(site, "/xhtml")
    page = extract(attempt.text, attempt.url)
    assert page.title == "Flood in Derbent" and "rescuers evacuated" in page.text


async def test_one_hostile_page_never_costs_its_source_the_other_pages(site):
    """A feed mixing good pages with every hostile one: each URL ends with its own outcome."""
    site.route("/good/1", response(ARTICLE))
    site.route("/good/2", response(RUSSIAN.encode("cp1251"), content_type="text/html"))
    site.route("/rot13", response(ARTICLE, content_type="text/html; charset=rot13"))
    site.route("/short", response(ARTICLE, length=len(MENU)))
    site.route("/cut", encoded(ARTICLE, "gzip", cut=True))
    site.route("/bomb", response(_bomb("zstd"), headers={"Content-Encoding": "zstd"}))
    site.route("/metadata", redirect("http://169.254.169.254/latest/meta-data/"))
    site.route("/drip", drip(site, ARTICLE.encode()))
    expected = {
        "/good/1": "ok",
        "/good/2": "ok",
        "/rot13": "ok",
        "/short": "truncated",
        "/cut": "truncated",
        "/bomb": "too_large",
        "/metadata": "refused",
        "/drip": "timeout",
        "/missing": "http_error",
    }
    items = "".join(
        f"<item><title>{path}</title><link>{site.url(path)}</link>"
        f"<pubDate>{'9' * 30 if path == '/good/2' else 'yesterday'}</pubDate></item>"
        for path in expected
    )
    site.route(
        "/feed.xml",
        response(f"<rss><channel>{items}</channel></rss>", content_type="application/rss+xml"),
    )
    source = replace(
        _source(site, replace(FAST, max_per_host=4, max_bytes=1_000_000)),
        options={"feed_url": "/feed.xml"},
    )
    async with HttpClient() as client:
        found = await discover(source, client)
        attempts = await asyncio.gather(*(client.fetch(link.url, source) for link in found.links))
    assert [a.outcome for a in found.attempts] == ["listed"]
    outcomes = {a.url.removeprefix(site.base_url): a.outcome for a in attempts}
    assert outcomes == expected
    assert all(a.error for a in attempts if a.outcome != "ok")
