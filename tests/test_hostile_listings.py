"""Hostile listings: a feed that breaks off or bombs keeps what it could read, and every cap
a listing runs into is recorded as `capped`, never a silent cut."""

import json

import pytest
from hostile_site import HostileSite, feed, response, sitemap_index, urlset

from connectors.config import Limits, Politeness, Source
from connectors.discovery import discover
from connectors.http import HttpClient

pytestmark = pytest.mark.anyio

FAST = Politeness(timeout_seconds=2.0, retries=0, delay_seconds=0, deadline_seconds=5.0)
RSS = "application/rss+xml"


@pytest.fixture
def site():
    with HostileSite() as hostile:
        hostile.route("/robots.txt", response("", "404 Not Found"))
        yield hostile


def _source(site: HostileSite, kind: str, limits: Limits | None = None, **options) -> Source:
    return Source(
        "hostile",
        "Hostile",
        kind,
        site.base_url,
        politeness=FAST,
        limits=limits or Limits(),
        options=options,
    )


async def _discover(source: Source):
    async with HttpClient() as client:
        return await discover(source, client)


def _articles(site: HostileSite, count: int) -> list[str]:
    return [site.url(f"/articles/{i}") for i in range(count)]


async def test_a_truncated_feed_keeps_the_links_it_could_read_and_is_malformed(site):
    whole = feed(_articles(site, 20))
    site.route("/feed.xml", response(whole[: whole.index("Story 10<")], content_type=RSS))
    found = await _discover(_source(site, "feed", feed_url="/feed.xml"))
    assert [link.url for link in found.links] == _articles(site, 10)
    [listing] = found.attempts
    assert (listing.outcome, listing.kind) == ("malformed", "listing")
    assert listing.error.startswith("broken XML")


async def test_a_feed_with_an_entity_bomb_keeps_the_links_before_it_and_is_malformed(site):
    laughs = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    good = feed(_articles(site, 20))
    head, items = good.split("<item>", 1)
    items = "<item>" + items
    bomb_item = f"<item><title>&lol9;</title><link>{site.url('/bomb')}</link></item>"
    tenth = items.index("<item><title>Story 10<")
    document = head.replace("<rss", f"<!DOCTYPE rss [{laughs}]><rss", 1)
    document += items[:tenth] + bomb_item + items[tenth:]
    site.route("/feed.xml", response(document, content_type=RSS))
    found = await _discover(_source(site, "feed", feed_url="/feed.xml"))
    assert [link.url for link in found.links][:10] == _articles(site, 10)
    assert site.url("/articles/15") not in [link.url for link in found.links]
    [listing] = found.attempts
    assert listing.outcome == "malformed" and "amplification" in listing.error


async def test_a_chain_of_sitemap_indexes_is_followed_only_so_deep(site):
    for depth in range(200):
        site.route(
            f"/chain/{depth}.xml", response(sitemap_index([site.url(f"/chain/{depth + 1}.xml")]))
        )
    found = await _discover(
        _source(site, "sitemap", Limits(max_sitemap_depth=3), sitemap_url="/chain/0.xml")
    )
    requested = [p for p in site.paths() if p.startswith("/chain/")]
    assert requested == [f"/chain/{d}.xml" for d in range(4)]  # the index and 3 levels below
    capped = [a for a in found.attempts if a.outcome == "capped"]
    assert [a.url for a in capped] == [site.url("/chain/4.xml")]
    assert "max_sitemap_depth 3" in capped[0].error


async def test_a_sitemap_index_is_followed_to_at_most_max_sitemaps(site):
    subs = [site.url(f"/sub/{i}.xml") for i in range(500)]
    site.route("/sitemap.xml", response(sitemap_index(subs)))
    for i in range(500):
        site.route(f"/sub/{i}.xml", response(urlset([site.url(f"/articles/{i}")])))
    found = await _discover(
        _source(site, "sitemap", Limits(max_sitemaps=30), sitemap_url="/sitemap.xml")
    )
    assert len(found.links) == 30
    capped = [a for a in found.attempts if a.outcome == "capped"]
    assert [a.url for a in capped] == [subs[30]]
    assert "500 sub-sitemaps listed, 30 followed" in capped[0].error


async def test_a_source_gives_at_most_max_urls_per_run(site):
    site.route("/feed.xml", response(feed(_articles(site, 5000)), content_type=RSS))
    found = await _discover(
        _source(site, "feed", Limits(max_urls_per_run=100), feed_url="/feed.xml")
    )
    assert [link.url for link in found.links] == _articles(site, 100)
    listed, capped = found.attempts
    assert listed.outcome == "listed"
    assert (capped.outcome, capped.url, capped.kind) == (
        "capped",
        site.url("/articles/100"),
        "listing",
    )
    assert capped.error.startswith("5000 links listed, the first 100 taken")


async def test_an_xhtml_listing_with_an_xml_declaration_is_listed(site):
    items = "".join(
        f'<li class="news-item"><a href="/articles/{i}">Story {i}</a></li>' for i in range(3)
    )
    page = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><body><ul>' + items + "</ul></body></html>"
    )
    site.route("/rubric?page=1", response(page, content_type="application/xhtml+xml"))
    source = _source(
        site,
        "html_listing",
        listing_url="/rubric?page={page}",
        item_selector="li.news-item",
        link_pattern=r"/articles/\d+$",
        max_pages=1,
    )
    found = await _discover(source)
    assert [a.outcome for a in found.attempts] == ["listed"]
    assert [link.url for link in found.links] == _articles(site, 3)


async def test_json_nested_deeper_than_python_recurses_is_a_malformed_listing(site):
    site.route("/api", response("[" * 200_000 + "]" * 200_000, content_type="application/json"))
    source = _source(site, "json_api", api_url="/api", items_path="data", fields={"url": "url"})
    found = await _discover(source)
    [listing] = found.attempts
    assert listing.outcome == "malformed" and listing.error.startswith("not JSON")
    assert found.links == []


async def test_a_sitemap_index_that_lists_itself_in_other_spellings_is_read_once(site):
    """127.1, 0x7f000001, 2130706433, a final dot: one server, one sitemap, one request."""
    hosts = ("127.0.0.1", "127.1", "0x7f000001", "2130706433", "127.0.0.1.", "0177.0.0.1")
    spellings = [f"http://{host}:{site.port}/self.xml" for host in hosts]
    site.route("/self.xml", response(sitemap_index(spellings)))
    found = await _discover(_source(site, "sitemap", sitemap_url="/self.xml"))
    assert site.paths().count("/self.xml") == 1
    assert [a.outcome for a in found.attempts] == ["listed"]


async def test_json_item_values_of_the_wrong_type_or_shape_cost_their_item(site):
    """A URL that is an object, an id that is a list or true: no link. An id of "../admin" or
    "//evil.example" stays inside its path segment of article_url."""
    items = [
        {"url": {"href": "/a/1"}},
        {"id": [1]},
        {"id": True},
        {"id": "../admin"},
        {"id": "//evil.example"},
        {"id": 7},
        {"url": "/a/2"},
    ]
    listing = json.dumps({"items": items})
    site.route("/list.json", response(listing, content_type="application/json"))
    source = _source(
        site,
        "json_api",
        api_url="/list.json",
        items_path="items",
        fields={"url": "url", "id": "id"},
        article_url="/i{id}/info/",
    )
    found = await _discover(source)
    assert [link.url for link in found.links] == [
        site.url("/i..%2Fadmin/info/"),
        site.url("/i%2F%2Fevil.example/info/"),
        site.url("/i7/info/"),
        site.url("/a/2"),
    ]
