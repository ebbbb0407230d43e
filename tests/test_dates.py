"""Dates you can trust: every format sources print, in the source's zone, and where each
article's publication time came from, from the listing to the warehouse."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hostile_site import HostileSite, response

from connectors.config import ConfigError, Politeness, Source, load_sources
from connectors.dates import (
    SLOW_VALUES_PER_PAGE,
    DateOrder,
    DateReading,
    parse_listing_date,
    parse_timestamp,
)
from connectors.discovery import discover, parse_listing
from connectors.http import HttpClient
from pipeline.ingest import IngestRun, ingest_source
from pipeline.pages import PageProcessor
from pipeline.reprocess import reprocess_pages
from processing.page import process_page
from warehouse import store
from warehouse.export import export_parquet
from warehouse.interface import DuckDBWarehouse
from warehouse.loads import RunKey
from warehouse.search import format_hit, search

PAGES = Path(__file__).parent / "pages" / "dates"
MOSCOW = DateReading("Europe/Moscow", languages=("ru", "en"))
BAKU = DateReading("Asia/Baku", languages=("ru", "az", "zh", "en"))
FAST = Politeness(timeout_seconds=3.0, retries=0, delay_seconds=0, deadline_seconds=5.0)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("Sat, 04 Oct 2025 13:39:00 MSK", "2025-10-04T13:39+03:00", id="MSK"),
        pytest.param("Sat, 04 Oct 2025 13:39:00 EEST", "2025-10-04T13:39+03:00", id="EEST"),
        pytest.param("Sat, 04 Oct 2025 13:39:00 AZT", "2025-10-04T13:39+04:00", id="AZT"),
        pytest.param("Sat, 04 Oct 2025 13:39:00 NZDT", "2025-10-04T13:39+13:00", id="NZDT"),
        pytest.param("Sat, 04 Oct 2025 13:39:00 IRST", "2025-10-04T13:39+03:30", id="IRST"),
        pytest.param("Сб, 04 окт 2025 13:39:00 +0300", "2025-10-04T13:39+03:00", id="russian"),
        pytest.param("Sat, 04 Oct 2025 13:39:00 +0400", "2025-10-04T13:39+04:00", id="offset"),
        pytest.param("Sat, 04 Oct 2025 13:39:00 GMT", "2025-10-04T13:39+00:00", id="GMT"),
        pytest.param("Sat, 04 Oct 2025 13:39:00", "2025-10-04T13:39+03:00", id="no-zone"),
        pytest.param("2025-10-04", "2025-10-04T12:00+03:00", id="date-only"),
        pytest.param("2025-10-04T13:39:00Z", "2025-10-04T13:39+00:00", id="iso-utc"),
        pytest.param("2025-10-04T13:39:00", "2025-10-04T13:39+03:00", id="iso-no-zone"),
        pytest.param("1759574340", "2025-10-04T10:39+00:00", id="epoch-seconds"),
        pytest.param("20251004", "2025-10-04T12:00+03:00", id="iso-basic-date"),
        pytest.param("1759574340000", "2025-10-04T10:39+00:00", id="epoch-milliseconds"),
    ],
)
def test_feed_times_are_aware_and_in_the_source_zone_when_they_name_none(value, expected):
    """A feed of a Moscow site: zone names count, and a time without one is Moscow time."""
    parsed = parse_timestamp(value, MOSCOW)
    assert parsed == at(expected) and parsed.tzinfo is not None


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Asia/Baku", "UTC", "America/Los_Angeles"])
def test_a_day_without_a_time_stays_on_its_day_in_utc(zone):
    """Daily counts and backfill windows go by UTC day: a bare day must not slip to the one
    before (a Baku midnight is 20:00 UTC the day before)."""
    reading = DateReading(zone)
    for moment in (
        parse_timestamp("2025-10-04", reading),
        parse_listing_date("https://x.org/2025/10/04/story/", reading, NOW),
        parse_listing_date("4 October 2025", reading, NOW),
    ):
        assert moment.astimezone(UTC).date() == date(2025, 10, 4)


@pytest.mark.parametrize("value", ["вчера", "", "   ", "soon", "99999999999999999999"])
def test_a_feed_time_that_is_no_date_is_none(value):
    """Relative words have no moment to count from in a feed; nothing falls back to now."""
    assert parse_timestamp(value, MOSCOW) is None


NOW = datetime(2025, 10, 5, 9, 0, tzinfo=UTC)  # 13:00 in Baku


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Вчера, 13:39", "2025-10-04T13:39+04:00", id="russian-yesterday"),
        pytest.param("5 минут назад", "2025-10-05T12:55+04:00", id="russian-minutes-ago"),
        pytest.param("2 saat əvvəl", "2025-10-05T11:00+04:00", id="azerbaijani-hours-ago"),
        pytest.param("昨天 13:39", "2025-10-04T13:39+04:00", id="chinese-yesterday"),
        pytest.param("4 oktyabr 2025, 13:39", "2025-10-04T13:39+04:00", id="azerbaijani"),
        pytest.param("2025年10月4日 13:39", "2025-10-04T13:39+04:00", id="chinese"),
        pytest.param("04.10.2025 13:39", "2025-10-04T13:39+04:00", id="dotted"),
        pytest.param("25 Июня 2026 17:24", "2026-06-25T17:24+04:00", id="caliber"),
        pytest.param("09:10, 29 апреля 2024", "2024-04-29T09:10+04:00", id="kavkaz-uzel-ru"),
        pytest.param("13:39, 4 May 2025", "2025-05-04T13:39+04:00", id="kavkaz-uzel-en"),
        pytest.param("March 18, 2019 12:57", "2019-03-18T12:57+04:00", id="month-first"),
        pytest.param("https://x.org/2025/10/04/story/", "2025-10-04T12:00+04:00", id="url"),
    ],
)
def test_listing_dates_in_every_format_sites_print(text, expected):
    assert parse_listing_date(text, BAKU, NOW) == at(expected)


@pytest.mark.parametrize(
    ("order", "expected"), [(DateOrder.MDY, "2025-10-04"), (DateOrder.DMY, "2025-04-10")]
)
def test_date_order_decides_slashed_dates(order, expected):
    reading = DateReading("UTC", order, ("en",))
    assert parse_listing_date("10/04/2025 13:39", reading, NOW).date().isoformat() == expected


def test_relative_dates_need_the_fetch_time_and_headlines_are_no_dates():
    assert parse_listing_date("Вчера, 13:39", BAKU) is None
    assert parse_listing_date("Путин и Алиев обсудили транзит", BAKU, NOW) is None


def test_a_date_selector_names_the_date_where_the_headline_holds_one_too():
    item = (
        '<ul><li class="item"><a href="/p/1">Итоги форума 4 октября 2025 года</a>'
        '<span class="when">5 минут назад</span></li></ul>'
    )
    guessed, chosen = (
        parse_listing(item, "https://x.az/", "li.item", "/p/", BAKU, NOW, selector)[0].published_at
        for selector in (None, "span.when")
    )
    assert guessed == at("2025-10-04T12:00+04:00")  # the headline's date: the item's first
    assert chosen == NOW - timedelta(minutes=5)


def test_a_listing_page_asks_dateparser_a_bounded_number_of_times():
    """A broken or hostile page of thousands of odd items costs seconds, not an hour: past the
    budget, only dates read by hand count."""
    many = SLOW_VALUES_PER_PAGE + 20
    shown = ("04.10.2025", "Вчера, 13:39")  # read by hand; only dateparser reads the second
    items = "".join(
        f'<li><a href="/p/{i}">Story {i}</a><span>{shown[i % 2]}</span></li>'
        for i in range(2 * many)
    )
    links = parse_listing(f"<ul>{items}</ul>", "https://x.az/", "li", "/p/", BAKU, NOW)
    relative = [link.published_at for link in links[1::2]]
    assert relative[:SLOW_VALUES_PER_PAGE] == [at("2025-10-04T13:39+04:00")] * SLOW_VALUES_PER_PAGE
    assert relative[SLOW_VALUES_PER_PAGE:] == [None] * 20
    assert {link.published_at for link in links[::2]} == {at("2025-10-04T12:00+04:00")}
    assert parse_timestamp("1 " * 5000, BAKU) is None  # no date is that long


def test_date_settings_are_typed_per_source(tmp_path):
    shipped = {s.id: s for s in load_sources(politeness_overrides={})}
    assert shipped["caucasian-knot-en"].dates.timezone == "Europe/Moscow"
    assert shipped["caliber-az"].dates.languages == ("en", "az", "ru")  # declared, then English
    entry = (
        "sources:\n  - id: baku\n    kind: feed\n    base_url: https://baku.example\n"
        "    feed_url: /rss\n    language: az\n"
    )
    cases = {
        "    date_ordr: DMY\n": "source baku: date_ordr: unknown field (did you mean date_order?)",
        "    date_order: DYM\n": "source baku: date_order: Input should be 'DMY', 'MDY' or 'YMD'",
        "    timezone: Mars/Olympus\n": "source baku: timezone: unknown time zone 'Mars/Olympus'",
        "    languages: az\n": "source baku: languages: Input should be a valid tuple",
        "    languages: [rus]\n": "source baku: languages: no dates known in 'rus' (use ru, az...)",
    }
    for line, problem in cases.items():
        path = tmp_path / "sources.yaml"
        path.write_text(entry + line, encoding="utf-8")
        with pytest.raises(ConfigError, match=re.escape(problem)):
            load_sources(path, politeness_overrides={})
    path.write_text(entry + "    date_order: DMY\n    languages: [az, ru]\n", encoding="utf-8")
    [baku] = load_sources(path, politeness_overrides={})
    assert baku.dates == DateReading("Asia/Baku", DateOrder.DMY, ("az", "ru"))


def test_a_json_answer_time_without_a_zone_is_in_the_source_zone():
    """Toutiao prints Beijing time with no zone; the article must not be eight hours off."""
    toutiao = Source("toutiao-mobile", "Toutiao", "toutiao_info", "https://m.toutiao.com", "zh",
                     options={"api_url": "/list/"}, dates=DateReading("Asia/Shanghai"))  # fmt: skip
    paragraphs = "".join(
        f"<p>第{i}段：经阿塞拜疆和哈萨克斯坦的过境货运量今年前九个月增长近三分之一。</p>"
        for i in range(4)
    )
    data = {
        "title": "中亚过境运输量增长",
        "content": paragraphs,
        "publish_time": "2025-10-04 13:39:00",
    }
    answer = json.dumps({"data": data}, ensure_ascii=False)
    page = process_page(
        toutiao, "https://m.toutiao.com/i7557/info/", answer, "application/json", NOW
    )
    assert page.article is not None, page.error
    assert page.article.published_at == at("2025-10-04T13:39+08:00")
    assert page.article.published_source == "page_metadata"


def _listing_source(site: HostileSite) -> Source:
    options = {
        "listing_url": "/news?page={page}",
        "item_selector": "div.news-item",
        "link_pattern": "/listing/",
        "max_pages": 1,
    }
    return Source("dated-listing", "Dated listing", "html_listing", site.base_url, "ru",
                  politeness=FAST, options=options, dates=BAKU)  # fmt: skip


@pytest.fixture(scope="module")
def site():
    with HostileSite() as hostile:
        hostile.route("/robots.txt", response("", "404 Not Found"))
        hostile.route("/news?page=1", response((PAGES / "listing.html").read_bytes()))
        yield hostile


def test_a_listing_dates_its_items_relative_to_when_it_was_fetched(site):
    before = datetime.now(UTC)
    found = asyncio.run(_discover(_listing_source(site)))
    after = datetime.now(UTC)
    dates = {link.url.rsplit("/", 1)[1]: link.published_at for link in found.links}
    baku = ZoneInfo("Asia/Baku")
    yesterday = before.astimezone(baku).date() - timedelta(days=1)
    assert dates["yesterday"] == datetime.combine(yesterday, datetime.min.time(), baku).replace(
        hour=13, minute=39
    )
    assert (
        before - timedelta(minutes=5, seconds=1) <= dates["minutes"] <= after - timedelta(minutes=5)
    )
    assert before - timedelta(hours=2, seconds=1) <= dates["saat"] <= after - timedelta(hours=2)
    assert dates["zuotian"] == dates["yesterday"]
    assert dates["oktyabr"] == dates["nian"] == dates["dotted"] == at("2025-10-04T13:39+04:00")


async def _discover(source: Source):
    async with HttpClient() as client:
        return await discover(source, client)


def _page(name: str, path: str) -> bytes:
    """A fixture article, its text made its own so that no two URLs are duplicates."""
    html = (PAGES / name).read_text(encoding="utf-8")
    return response(
        html.replace("</article>", f"<p>Материал опубликован по адресу {path}.</p></article>")
    )


FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Лента</title>
<item><link>{base}/feed/meta</link><pubDate>Sun, 05 Oct 2025 08:00:00 MSK</pubDate></item>
<item><link>{base}/feed/json-ld</link></item>
<item><link>{base}/feed/plain</link><pubDate>Sat, 04 Oct 2025 10:00:00 MSK</pubDate></item>
<item><link>{base}/feed/2025/10/02/undated</link></item>
<item><link>{base}/feed/nothing</link></item>
</channel></rss>"""
NEWS_SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>{base}/sitemap/plain</loc><news:news><news:publication_date>2025-10-04T12:00:00+04:00</news:publication_date></news:news></url>
</urlset>"""


def test_every_article_records_where_its_publication_time_came_from(site, tmp_path):
    """One run over a feed, a news sitemap and a listing whose pages date themselves or not.

    The page's own date wins over its listing's; a page without one takes its listing's (and
    keeps it when reprocessed from the archive); then a date in its URL; else none, and the
    fetch time never stands in for it.
    """
    base = site.base_url
    site.route("/feed.xml", response(FEED.format(base=base), content_type="application/rss+xml"))
    site.route(
        "/news-sitemap.xml", response(NEWS_SITEMAP.format(base=base), content_type="text/xml")
    )
    pages = {"/feed/meta": "meta.html", "/feed/json-ld": "json_ld.html"}
    for path in ("/feed/plain", "/feed/2025/10/02/undated", "/feed/nothing", "/sitemap/plain"):
        pages[path] = "undated.html"
    for item in ("yesterday", "minutes", "saat", "zuotian", "oktyabr", "nian", "dotted"):
        pages[f"/listing/{item}"] = "undated.html"
    for path, name in pages.items():
        site.route(path, _page(name, path))
    sources = [
        Source("dated-feed", "Dated feed", "feed", base, "ru", politeness=FAST,
               options={"feed_url": "/feed.xml"}, dates=MOSCOW),
        Source("dated-sitemap", "Dated sitemap", "sitemap", base, "ru", politeness=FAST,
               options={"sitemap_url": "/news-sitemap.xml"}, dates=BAKU),
        _listing_source(site),
    ]  # fmt: skip
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.register_sources(sources)

    async def ingest() -> None:
        with PageProcessor(workers=0) as processor:
            async with HttpClient() as client:
                for source in sources:
                    await ingest_source(
                        source, IngestRun(RunKey("dates")), warehouse, client, processor
                    )

    asyncio.run(ingest())
    query = "SELECT url, published_source, published_at FROM articles ORDER BY url"
    with store.connect(tmp_path / "w.duckdb") as conn:
        stored = {
            url.removeprefix(base): (how, when) for url, how, when in conn.execute(query).fetchall()
        }
    assert stored.pop("/feed/meta") == ("page_metadata", at("2025-10-04T13:39+04:00"))
    assert stored.pop("/feed/json-ld") == ("json_ld", at("2025-10-03T09:10+03:00"))
    assert stored.pop("/feed/plain") == ("feed", at("2025-10-04T10:00+03:00"))
    assert stored.pop("/feed/2025/10/02/undated") == ("url", at("2025-10-02T12:00+03:00"))
    assert stored.pop("/feed/nothing") == ("none", None)
    assert stored.pop("/sitemap/plain") == ("sitemap", at("2025-10-04T12:00+04:00"))
    assert {how for how, when in stored.values() if when is not None} == {"listing"}
    assert len(stored) == 7

    archived = warehouse.archived_pages(warehouse.archived_urls(source_id="dated-feed"))
    fresh = asyncio.run(
        reprocess_pages(archived, {s.id: s for s in sources}, warehouse, PageProcessor(0))
    )
    assert warehouse.replace_articles(fresh) == 5
    # A revisit hands the page the date the frontier remembered: no better than what is stored.
    [undated] = [p for p in archived if p.url.endswith("/undated")]
    feed = sources[0]
    remembered = at("2025-10-02T12:00+03:00")
    again = process_page(feed, undated.url, undated.html, None, NOW, listed_at=remembered).article
    assert again is not None and again.published_source == "feed"
    warehouse.replace_articles([again])
    with store.connect(tmp_path / "w.duckdb") as conn:
        rows = conn.execute(query).fetchall()
        kept = {url.removeprefix(base): (how, when) for url, how, when in rows}
        by_fetch_day = conn.execute(
            "SELECT source_id, articles FROM daily_counts WHERE day_from = 'fetched'"
        ).fetchall()
        export_parquet(conn, tmp_path / "export")
        exported = conn.execute(
            "SELECT date_from, count(*) FROM read_parquet($files) GROUP BY 1 ORDER BY 1",
            {"files": str(tmp_path / "export" / "**" / "*.parquet")},
        ).fetchall()
        [hit] = search(conn, "nothing")
    assert kept["/feed/plain"] == ("feed", at("2025-10-04T10:00+03:00"))
    assert kept["/feed/2025/10/02/undated"] == ("url", remembered)
    assert by_fetch_day == [("dated-feed", 1)]  # /feed/nothing, in a row that says so
    assert exported == [("fetched", 1), ("published", len(pages) - 1)]
    assert (hit.url, hit.day_from) == (base + "/feed/nothing", "fetched")
    assert "(fetched)" in format_hit(hit)
