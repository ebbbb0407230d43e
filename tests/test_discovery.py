"""Discovery parsers: what each kind of listing yields, and what a broken one reports."""

from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from connectors.config import Politeness, load_sources, select_sources
from connectors.decoding import decode_body
from connectors.discovery import (
    MalformedListing,
    discover,
    in_window,
    parse_sitemap,
)
from connectors.http import HttpClient
from connectors.kinds.feed import parse_feed
from fixture_site import bad_paths, manifest

FAST = Politeness(timeout_seconds=2.0, retries=0, delay_seconds=0)

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Кавказский узел</title><language>ru</language>
<item><title>Первая</title><link>https://www.kavkaz-uzel.eu/articles/1/</link>
<pubDate>Mon, 29 Sep 2025 09:10:00 +0300</pubDate></item>
<item><title>Без даты</title><link> https://www.kavkaz-uzel.eu/articles/2/ </link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title>
<entry><title>One</title><link rel="alternate" href="https://caliber.az/en/post/one"/>
<updated>2025-10-02T17:24:00+04:00</updated></entry></feed>"""

SITEMAP_INDEX = """<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://caliber.az/sitemap-posts.xml</loc><lastmod>2025-10-07</lastmod></sitemap>
</sitemapindex>"""

NEWS_SITEMAP = """<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
 xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://caliber.az/en/post/three</loc><news:news>
<news:publication><news:name>Caliber.Az</news:name><news:language>en</news:language>
</news:publication><news:publication_date>2025-10-04T09:00:00+04:00</news:publication_date>
<news:title>Three</news:title></news:news></url></urlset>"""

URLSET = """<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://caliber.az/az/post/bir</loc><lastmod>2025-10-03T10:00:00+04:00</lastmod></url>
<url><loc>https://caliber.az/post/dva</loc></url></urlset>"""


def test_rss_items_become_links_with_titles_and_dates():
    links = parse_feed(RSS, "caucasian-knot")
    assert [link.url for link in links] == [
        "https://www.kavkaz-uzel.eu/articles/1/",
        "https://www.kavkaz-uzel.eu/articles/2/",
    ]
    assert links[0].title == "Первая"
    assert links[0].published_at == datetime(2025, 9, 29, 6, 10, tzinfo=UTC)
    assert links[1].published_at is None


def test_atom_entries_use_the_alternate_link():
    [link] = parse_feed(ATOM, "caliber-az")
    assert link.url == "https://caliber.az/en/post/one"
    assert link.published_at.isoformat() == "2025-10-02T17:24:00+04:00"


def test_sitemap_index_and_urlset():
    assert parse_sitemap(SITEMAP_INDEX) == (
        [("https://caliber.az/sitemap-posts.xml", datetime(2025, 10, 7, 12, tzinfo=UTC))],
        [],
    )
    children, pages = parse_sitemap(URLSET)
    assert children == []
    assert [loc for loc, _, _ in pages] == [
        "https://caliber.az/az/post/bir",
        "https://caliber.az/post/dva",
    ]
    assert pages[0][1].isoformat() == "2025-10-03T10:00:00+04:00"
    assert pages[1][1:] == (None, None)


def test_google_news_sitemaps_give_the_publication_date():
    [(loc, lastmod, published)] = parse_sitemap(NEWS_SITEMAP)[1]
    assert loc == "https://caliber.az/en/post/three"
    assert (lastmod, published.isoformat()) == (None, "2025-10-04T09:00:00+04:00")


@pytest.mark.parametrize(
    "text", ["<html><body>Not a feed</body></html>", '{"json": true}', "", "<rss><channel"]
)
def test_malformed_listings_raise_a_clear_error(text):
    with pytest.raises(MalformedListing):
        parse_feed(text, "x")


def test_window_is_inclusive_and_open_ended():
    moment = datetime(2025, 10, 7, 23, 0, tzinfo=UTC)
    assert in_window(moment, datetime(2025, 10, 1).date(), datetime(2025, 10, 7).date())
    assert not in_window(moment, datetime(2025, 10, 8).date(), None)
    assert in_window(None, datetime(2025, 10, 8).date(), None)


def _paths(site, since: int) -> list[str]:
    return [r.path.removeprefix("/caucasian-knot-en") for r in site.requests[since:]]


@pytest.mark.anyio
async def test_html_listing_pages_back_until_the_window_start(site):
    [source] = select_sources(
        load_sources(base_url_override=site.base_url, politeness_overrides={}),
        ["caucasian-knot-en"],
    )
    source = replace(source, politeness=FAST)
    articles = {e["path"]: e for e in manifest() if e["source_id"] == "caucasian-knot-en"}
    before = len(site.requests)
    async with HttpClient() as client:
        everything = await discover(source, client)
        pages = ["/rubric/1?page=1", "/rubric/1?page=2", "/rubric/1?page=3"]  # 3 is past the end
        assert [p for p in _paths(site, before) if "rubric" in p] == pages
        mark = len(site.requests)
        recent = await discover(source, client, datetime(2025, 10, 7, tzinfo=UTC))
        assert _paths(site, mark) == ["/rubric/1?page=1"]
    found = {link.url.removeprefix(source.base_url): link for link in everything.links}
    assert set(found) == set(articles)
    for path, link in found.items():
        assert link.title == articles[path]["title"]
        assert link.published_at.date().isoformat() == articles[path]["published"]
        assert link.source_id == "caucasian-knot-en"
    printed = found["/articles/71175/"].published_at  # "13:39, 4 October 2025", no <time>
    assert printed == datetime(2025, 10, 4, 10, 39, tzinfo=UTC)
    assert {a.outcome for a in everything.attempts} == {"listed"}
    # page 1's two items; its sidebar's links to older articles are not items
    assert [link.url.removeprefix(source.base_url) for link in recent.links] == [
        "/articles/71240/",
        "/articles/71203/",
    ]


@pytest.mark.anyio
async def test_sitemap_walk_skips_sub_sitemaps_last_changed_before_the_window(site):
    [caliber] = select_sources(
        load_sources(base_url_override=site.base_url, politeness_overrides={}), ["caliber-az"]
    )
    caliber = replace(caliber, politeness=FAST)
    async with HttpClient() as client:
        everything = await discover(caliber, client)
        later = await discover(caliber, client, datetime(2025, 10, 9, 12, tzinfo=UTC))
    sections = {urlsplit(link.url).path.split("/")[2] for link in later.links}
    assert len(everything.links) == sum(1 for e in manifest() if e["source_id"] == "caliber-az")
    # Only the Russian sub-sitemap changed after noon (UTC) on 9 October; the English one,
    # served gzipped, last changed that morning and the Azerbaijani one the day before.
    assert sections == {"post"}
    assert not [a for a in later.attempts if a.url.endswith(".gz")]


@pytest.mark.anyio
async def test_listing_requests_are_recorded_as_listings(site):
    [feed] = select_sources(
        load_sources(base_url_override=site.base_url, politeness_overrides={}), ["caucasian-knot"]
    )
    async with HttpClient() as client:
        found = await discover(replace(feed, politeness=FAST), client)
    assert [(a.kind, a.outcome) for a in found.attempts] == [("listing", "listed")]
    advertised = [e for e in [*manifest(), *bad_paths()] if e["source_id"] == "caucasian-knot"]
    assert len(found.links) == len(advertised)


def test_a_feed_in_a_legacy_encoding_keeps_its_titles():
    """Its XML declaration names the encoding; once decoded, it must not be decoded again."""
    body = RSS.replace('encoding="utf-8"', 'encoding="windows-1251"').encode("cp1251")
    links = parse_feed(decode_body(body, "application/rss+xml"), "caucasian-knot")
    assert [link.title for link in links] == ["Первая", "Без даты"]


def test_a_truncated_feed_hands_over_the_links_before_the_break():
    with pytest.raises(MalformedListing) as broken:
        parse_feed(RSS[: RSS.index("<item><title>Без даты")], "caucasian-knot")
    assert [link.url for link in broken.value.partial] == ["https://www.kavkaz-uzel.eu/articles/1/"]
