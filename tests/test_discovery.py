"""Discovery parsers: what each kind of listing yields, and what a broken one reports."""

from datetime import UTC, datetime

import pytest

from connectors.discovery import (
    MalformedListing,
    in_window,
    parse_datetime,
    parse_feed,
    parse_sitemap,
)

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
<sitemap><loc>https://caliber.az/sitemap-posts.xml</loc></sitemap></sitemapindex>"""

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
    assert parse_sitemap(SITEMAP_INDEX) == (["https://caliber.az/sitemap-posts.xml"], [])
    children, pages = parse_sitemap(URLSET)
    assert children == []
    assert [loc for loc, _ in pages] == [
        "https://caliber.az/az/post/bir",
        "https://caliber.az/post/dva",
    ]
    assert pages[1][1] is None


@pytest.mark.parametrize(
    "text", ["<html><body>Not a feed</body></html>", '{"json": true}', "", "<rss><channel"]
)
def test_malformed_listings_raise_a_clear_error(text):
    with pytest.raises(MalformedListing):
        parse_feed(text, "x")


def test_dates_in_the_formats_sources_use():
    assert parse_datetime("1759640400") == datetime(2025, 10, 5, 5, 0, tzinfo=UTC)
    assert parse_datetime("2025-10-03").date().isoformat() == "2025-10-03"
    assert parse_datetime("Fri, 03 Oct 2025 10:00:00 GMT").tzinfo is not None
    assert parse_datetime("вчера") is None


def test_window_is_inclusive_and_open_ended():
    moment = datetime(2025, 10, 7, 23, 0, tzinfo=UTC)
    assert in_window(moment, datetime(2025, 10, 1).date(), datetime(2025, 10, 7).date())
    assert not in_window(moment, datetime(2025, 10, 8).date(), None)
    assert in_window(None, datetime(2025, 10, 8).date(), None)
