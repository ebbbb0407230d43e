"""Dates, authors and their evidence on real-shaped pages, through `newsflow extract`.

Each date-evidence rule of processing.published is one small page here, read the way a user
reads a saved page (`newsflow extract FILE --url URL`); the parser cases of connectors.dates
and the author cases of processing.authors are unit tests below them.
"""

import asyncio
import json
from datetime import UTC, datetime

import pytest
from hostile_site import HostileSite, response

from connectors.config import Politeness, Source
from connectors.dates import DateReading, Precision, absolute_date, parse_listing_date, precision
from connectors.http import HttpClient
from flows.cli import main
from pipeline.ingest import IngestRun, ingest_source
from pipeline.pages import PageProcessor
from processing.authors import json_ld_authors, split_authors
from warehouse import store
from warehouse.interface import DuckDBWarehouse
from warehouse.loads import RunKey

STORY = " ".join(
    ["The council met on Saturday to approve the new water plan for the valley towns."] * 6
)


def _page(head: str = "", before: str = "", byline: str = "", after: str = "") -> str:
    """An article page: head tags, what precedes the story (a sidebar), the byline under the
    title, the story, and what follows it."""
    return (
        f"<html><head><title>Water plan approved</title>{head}</head><body>{before}"
        f"<article><h1>Water plan approved</h1><div class='byline'>{byline}</div>"
        f"<p>{STORY}</p><p>{STORY}</p></article>{after}</body></html>"
    )


def _extract(tmp_path, capsys, html: str, url: str = "https://news.example/story/water") -> dict:
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    assert main(["extract", str(path), "--url", url]) == 0
    return json.loads(capsys.readouterr().out)


def _ld(published: str) -> str:
    body = json.dumps({"@type": "NewsArticle", "datePublished": published})
    return f'<script type="application/ld+json">{body}</script>'


def _meta(name: str, content: str) -> str:
    return f'<meta property="{name}" content="{content}">'


def test_json_ld_wins_over_a_sidebar_time_that_comes_first(tmp_path, capsys):
    sidebar = (
        '<aside class="related"><time datetime="2025-09-01T08:00:00+00:00">1 Sep</time></aside>'
    )
    record = _extract(tmp_path, capsys, _page(_ld("2025-10-04T10:00:00+04:00"), sidebar))
    assert record["published"] == "2025-10-04T10:00:00+04:00"
    assert record["published_source"] == "json_ld"


def test_the_articles_time_wins_over_a_related_list(tmp_path, capsys):
    related = (
        '<div class="related-stories"><time datetime="2025-09-28T09:00:00+00:00">Sep 28</time>'
        '<time datetime="2025-09-27T09:00:00+00:00">Sep 27</time></div>'
    )
    byline = '<time datetime="2025-10-04T09:15:00+00:00">4 October 2025</time>'
    record = _extract(tmp_path, capsys, _page(before=related, byline=byline))
    assert record["published"] == "2025-10-04T09:15:00+00:00"


def test_a_utc_evening_stays_on_the_day_the_url_carries(tmp_path, capsys):
    """02:30 UTC on the 5th is the evening of the 4th west of UTC: the URL says which day."""
    url = "https://news.example/2025/10/04/water-plan/"
    page = _page(_meta("article:published_time", "2025-10-05T02:30:00Z"))
    record = _extract(tmp_path, capsys, page, url)
    moment = datetime.fromisoformat(record["published"])
    assert moment.date().isoformat() == "2025-10-04"
    assert moment == datetime(2025, 10, 5, 2, 30, tzinfo=UTC)  # the same instant
    assert record["published_precision"] == "minute"


def test_a_printed_zone_gives_the_day_the_page_prints(tmp_path, capsys):
    head = _meta("article:published_time", "2025-10-05T02:24:00Z")
    page = _page(head, byline="By Ann Lee | Oct 4, 2025 at 10:24 pm ET")
    record = _extract(tmp_path, capsys, page)
    assert record["published"] == "2025-10-04T22:24:00-04:00"
    assert record["authors"] == ["Ann Lee"]


def test_a_local_clock_beside_a_utc_instant_gives_the_pages_offset(tmp_path, capsys):
    head = _meta("article:published_time", "2025-10-05T02:59:46+00:00")
    byline = '<time datetime="2025-10-04 20:59:46">October 4, 2025 at 8:59 pm</time>'
    record = _extract(tmp_path, capsys, _page(head, byline=byline))
    assert record["published"] == "2025-10-04T20:59:46-06:00"


def test_agreeing_witnesses_outvote_a_json_ld_with_a_wrong_offset(tmp_path, capsys):
    head = _meta("article:published_time", "2025-10-05T02:15:49+00:00") + _ld(
        "2025-10-05T02:15:49-06:00"
    )
    record = _extract(tmp_path, capsys, _page(head, byline="Oct 4, 2025, 9:15 pm CDT"))
    assert record["published"] == "2025-10-04T21:15:49-05:00"
    assert record["published_source"] == "page_metadata"


def test_an_update_printed_first_is_not_the_publication(tmp_path, capsys):
    byline = "Updated Oct 6, 2025 10:00 GMT | Published Oct 3, 2025 08:30 GMT"
    record = _extract(tmp_path, capsys, _page(byline=byline))
    assert record["published"] == "2025-10-03T08:30:00+00:00"
    assert record["published_source"] == "page_text"


def test_the_original_time_printed_after_an_update_wins(tmp_path, capsys):
    """Barron's prints "Updated ... / Original ...": the original is the publication."""
    byline = "By Al Root Updated Oct. 4, 2025 8:21 am ET / Original Oct. 4, 2025 8:02 am ET"
    record = _extract(tmp_path, capsys, _page(byline=byline))
    assert record["published"] == "2025-10-04T08:02:00-04:00"


def test_a_comment_lists_itemprop_dates_count_for_little(tmp_path, capsys):
    comments = "".join(
        f'<li><time itemprop="datePublished" datetime="2025-10-{d}T19:38:42+00:00">{d}</time></li>'
        for d in ("09", "10", "11")
    )
    page = _page(after=f'<section class="comments"><ol>{comments}</ol></section>')
    record = _extract(tmp_path, capsys, page.replace("<div class='byline'>", "<div>4/10/2025"))
    assert record["published"].startswith("2025-04-10")  # what the byline prints (month first)


def test_a_later_json_ld_date_of_another_object_counts_half(tmp_path, capsys):
    """A recipe page's JSON-LD dates the page, then a video in it, which a related list also
    shows: the page's own value, given first, wins."""
    head = _ld("2017-12-06") + _ld("2019-09-17")
    related = '<div class="related"><time datetime="2019-09-17">Video</time></div>'
    record = _extract(tmp_path, capsys, _page(head, after=related))
    assert record["published"] == "2017-12-06"


def test_a_masthead_h1_does_not_date_the_story(tmp_path, capsys):
    """A site whose logo is an <h1> prints today's date after it: the byline is read after the
    <h1> that holds the headline (the page's og:title)."""
    menu = "".join(f"<a href='/s{n}'>Section number {n}</a>" for n in range(20))
    masthead = f"<h1>The Daily Journal</h1><div>Wednesday, October 8, 2025</div><nav>{menu}</nav>"
    head = _meta("og:title", "Water plan approved")
    page = _page(head, before=masthead, byline="By Ann Lee Oct. 4, 2025 7:04 pm ET")
    record = _extract(tmp_path, capsys, page)
    assert record["published"] == "2025-10-04T19:04:00-04:00"


def test_an_update_after_a_dash_leaves_the_publication_before_it(tmp_path, capsys):
    """Hawaii News Now: "... 2:26 PM HST - Updated ... 4:46 PM", and the JSON-LD holds the
    update's instant: the printed, zoned publication wins, on the day the page prints."""
    url = "https://news.example/2025/10/05/water-plan/"
    head = _ld("2025-10-05T02:46:42Z")
    byline = "By HNN Staff | October 4, 2025 at 2:26 PM HST - Updated October 4 at 4:46 PM"
    record = _extract(tmp_path, capsys, _page(head, byline=byline), url)
    assert record["published"] == "2025-10-04T14:26:00-10:00"


def test_a_printed_local_clock_sets_the_zone_before_an_unzoned_meta(tmp_path, capsys):
    """The LA Times: JSON-LD 01:53Z, a meta of the same instant without its Z, and the byline's
    5:53 PM: the day is the one the byline prints, eight hours west."""
    head = _meta("article:published_time", "2025-10-05T01:53:14.418") + _ld(
        "2025-10-05T01:53:14.418Z"
    )
    record = _extract(tmp_path, capsys, _page(head, byline="By Ann Lee Oct. 4, 2025 5:53 PM"))
    assert record["published"].startswith("2025-10-04T17:53:14")


def test_a_latest_list_of_itemprop_dates_does_not_pick_the_minute(tmp_path, capsys):
    """The Telegraph: the story's itemprop first, then a "latest" list's, same day, other times."""
    url = "https://news.example/2025/10/04/water-plan/"
    latest = "".join(
        f'<li><time itemprop="datePublished" datetime="2025-10-04T0{h}:25:40">x</time>'
        f'<time datetime="2025-10-04T0{h}:25:40">4 Oct 2025, {h}:25pm</time></li>'
        for h in (8, 9)
    )
    byline = '<span itemprop="datePublished" content="2025-10-04T13:16+0000">4 October 2025</span>'
    page = _page(byline=byline, after=f"<ul>{latest}</ul>")
    record = _extract(tmp_path, capsys, page, url)
    assert record["published"] == "2025-10-04T13:16:00+00:00"


def test_a_day_without_a_time_has_day_precision(tmp_path, capsys):
    record = _extract(tmp_path, capsys, _page(_meta("article:published_time", "2025-10-04")))
    assert (record["published"], record["published_precision"]) == ("2025-10-04", "day")


def test_a_page_with_no_date_at_all_has_none(tmp_path, capsys):
    record = _extract(tmp_path, capsys, _page())
    assert (record["published"], record["published_source"]) == (None, "none")


# Parser cases: each one a date printed the way the seeds print it.
NOW = datetime(2025, 10, 5, 8, 0, tzinfo=UTC)
EN = DateReading()
RU = DateReading("Europe/Moscow", None, ("ru", "en"))
AZ = DateReading("Asia/Baku", None, ("az", "en"))
ZH = DateReading("Asia/Shanghai", None, ("zh", "en"))
KO = DateReading("Asia/Seoul", None, ("ko",))


@pytest.mark.parametrize(
    ("text", "reading", "expected"),
    [
        ("October 4, 2025 1:39 PM", EN, "2025-10-04T13:39:00+00:00"),
        ("12:30 AM, October 4, 2025", EN, "2025-10-04T00:30:00+00:00"),
        ("2025年10月4日 下午3:39", ZH, "2025-10-04T15:39:00+08:00"),
        ("2025年10月4日 上午11:05", ZH, "2025-10-04T11:05:00+08:00"),
        ("2025년 10월 4일 오후 3:39", KO, "2025-10-04T15:39:00+09:00"),
        ("2025-10-04 13:39 +04:00", EN, "2025-10-04T13:39:00+04:00"),
        ("Oct 4, 2025 9:24 pm ET", EN, "2025-10-04T21:24:00-04:00"),
        ("Mon 4 Nov 2019 18.54 GMT", EN, "2019-11-04T18:54:00+00:00"),
        ("on Monday, November 18th, 2019 at 11:08 a.m.", EN, "2019-11-18T11:08:00+00:00"),
        ("Wed Nov 20 2019 08:00:58 GMT+0000", EN, "2019-11-20T08:00:00+00:00"),
        ("Nov 15, 20195:45 AM EST", EN, "2019-11-15T05:45:00-05:00"),  # two texts met
        ("the 20th of November 2019, 9:42am", EN, "2019-11-20T09:42:00+00:00"),
        ("November 18, 2019 at 2:26 PM HST", EN, "2019-11-18T14:26:00-10:00"),
        ("November 20 15:23 2019", EN, "2019-11-20T15:23:00+00:00"),  # the clock before the year
    ],
)
def test_clocks_read_their_half_of_the_day_and_their_zone(text, reading, expected):
    assert absolute_date(text, reading).isoformat() == expected
    assert precision(text) == Precision.MINUTE


@pytest.mark.parametrize(
    ("text", "reading", "day"),
    [
        ("4.10.25", AZ, "2025-10-04"),
        ("04/10/2025", AZ, "2025-10-04"),
        ("04/10/2025", RU, "2025-10-04"),
        ("04/10/2025", EN, "2025-04-10"),  # English custom: month first
        ("4.10.2025", EN, "2025-10-04"),  # dots are day-first everywhere
        ("13/06/2014", EN, "2014-06-13"),  # no 13th month: day first even on an English site
        ("Score 3 2019, then May 4, 2019", EN, "2019-05-04"),  # the first named month
    ],
)
def test_numeric_dates_follow_the_sources_language(text, reading, day):
    assert absolute_date(text, reading).date().isoformat() == day


def test_a_day_without_a_year_or_time_is_that_day_in_the_sources_zone():
    moment = parse_listing_date("4 октября", RU, NOW)
    assert moment.date().isoformat() == "2025-10-04"
    assert moment.astimezone(UTC).date().isoformat() == "2025-10-04"  # not the 3rd in UTC
    assert precision("4 октября") == Precision.DAY


def test_a_date_without_its_year_takes_the_fetch_times_year():
    assert parse_listing_date("10月4日 13:39", ZH, NOW).isoformat() == "2025-10-04T13:39:00+08:00"
    new_year = datetime(2026, 1, 2, tzinfo=UTC)
    assert parse_listing_date("10月4日 13:39", ZH, new_year).year == 2025  # last October
    assert absolute_date("12 decisions were taken", EN, NOW) is None  # no month word


def test_relative_dates_count_from_the_fetch_time():
    assert parse_listing_date("2 часа назад", RU, NOW) == datetime(2025, 10, 5, 6, 0, tzinfo=UTC)
    assert parse_listing_date("3小时前", ZH, NOW) == datetime(2025, 10, 5, 5, 0, tzinfo=UTC)
    assert precision("3小时前") == Precision.MINUTE


# Author cases.
@pytest.mark.parametrize(
    ("byline", "people"),
    [
        ("记者 张三", ("张三",)),
        ("作者：李明", ("李明",)),
        ("Иван Петрович Сидоров, корреспондент", ("Иван Петрович Сидоров",)),
        ("Анна Ивановна Смирнова и Олег Петров", ("Анна Ивановна Смирнова", "Олег Петров")),
        (
            "By Mike Wuerthele and Malcolm Owen Monday, November 18, 2019",
            ("Mike Wuerthele", "Malcolm Owen"),
        ),
        ("By Meg James, Staff Writer", ("Meg James",)),
        ("By TOM KRISHER, AP Auto Writer", ("TOM KRISHER",)),
        ("Reuters", ()),
        ("Associated Press", ()),
        ("РИА Новости", ()),
        ("jdadmin", ()),
        ("Regan", ("Regan",)),
        ("Sarah E. Needleman", ("Sarah E. Needleman",)),
        ("Иван Петров\u0007", ("Иван Петров",)),  # a control character from the web
        ("\u202eAnn Lee\u202c and Tom Krisher", ("Ann Lee", "Tom Krisher")),
        ("Byron Smith", ("Byron Smith",)),  # "By" leads only as a word of its own
        ("Paris Hilton and Fromm Weber", ("Paris Hilton", "Fromm Weber")),
        ("Author: Ann Lee", ("Ann Lee",)),
        ("Авторы: Иван Петров и Анна Смирнова", ("Иван Петров", "Анна Смирнова")),
    ],
)
def test_bylines_become_the_people_they_name(byline, people):
    assert split_authors(byline) == people


def test_the_site_name_is_no_author():
    assert split_authors("LinkNaija", "LinkNaija") == ()
    assert split_authors("Ann Lee | Daily Planet", "Daily Planet") == ("Ann Lee",)


def test_a_one_token_chinese_author_comes_through_extract(tmp_path, capsys):
    head = '<meta name="author" content="张三"><html lang="zh">'
    record = _extract(tmp_path, capsys, _page(head))
    assert record["authors"] == ["张三"] and record["author"] == "张三"


@pytest.mark.parametrize(
    ("byline", "people"),
    [
        ("By Ann\x07Lee", ["Ann Lee"]),  # a raw BEL where the space was: no "AnnLee"
        ("By Ann\x0bLee and Tom\x1fKrisher", ["Ann Lee", "Tom Krisher"]),
        ("作者：张\x07三", ["张三"]),  # inside a name it stood for nothing
    ],
)
def test_a_raw_control_byte_in_a_byline_costs_only_itself(tmp_path, capsys, byline, people):
    record = _extract(tmp_path, capsys, _page(byline=byline))
    assert record["authors"] == people


@pytest.mark.parametrize(
    ("credit", "people"),
    [
        ("作者：李明", ["李明"]),
        ("Автор: Иван Петров", ["Иван Петров"]),
        ("Müəllif: Leyla Əliyeva", ["Leyla Əliyeva"]),
    ],
)
def test_an_author_credit_line_is_the_byline(tmp_path, capsys, credit, people):
    """Credit lines are set apart from the text as attribution; one naming the author is read."""
    record = _extract(tmp_path, capsys, _page(after=f"<p>{credit}</p>"))
    assert record["authors"] == people
    assert credit not in record["text"]


def _person(name: str) -> str:
    return '{"@type": "NewsArticle", "author": {"@type": "Person", "name": "' + name + '"}}'


@pytest.mark.parametrize(
    ("script", "people"),
    [
        (_person("Ann\\u0007 Lee"), ("Ann Lee",)),  # an escaped BEL in the JSON string
        (_person("Ann\x07 Lee"), ("Ann Lee",)),  # a raw one (strict JSON refuses it)
        (_person("Ann\x07Lee"), ("Ann Lee",)),  # where a space was
        (_person("\u202bИван Петров\u202c"), ("Иван Петров",)),  # bidi embedding
        (_person("Ann\u200b Lee"), ("Ann Lee",)),  # zero-width space
        (_person("张\x07三"), ("张三",)),
        (
            '{"@graph": [{"@type": "Person", "@id": "#a", "name": "Ann\\u0007 Lee"},'
            ' {"@type": ["NewsArticle"], "author": [{"@id": "#a"}, "Bob Stone"]}]}',
            ("Ann Lee", "Bob Stone"),
        ),
        ('{"@type": "NewsArticle", "author": {"@type": "Organization", "name": "Reuters"}}', ()),
        ('{"@type": "WebSite", "author": "Ann Lee"}', ()),  # the site's, not the article's
        ('{"@type": "NewsArticle", "author": ', ()),  # malformed: no authors, no error
        ("[" * 5000 + "]" * 5000, ()),  # nested past the parser's depth
    ],
)
def test_json_ld_authors_lose_only_the_invisible_character(script, people):
    assert json_ld_authors([script]) == people


def test_a_json_ld_author_with_a_control_character_comes_through_extract(tmp_path, capsys):
    body = json.dumps(
        {
            "@type": "NewsArticle",
            "author": [
                {"@type": "Person", "name": "Ann\u0007Lee"},
                {"@type": "Person", "name": "Bob\u202eStone"},
            ],
        }
    )
    head = f'<script type="application/ld+json">{body}</script>'
    record = _extract(tmp_path, capsys, _page(head))
    assert record["authors"] == ["Ann Lee", "Bob Stone"]


def test_a_paywalled_page_is_stored_as_the_teaser_it_shows(tmp_path, capsys):
    not_free = json.dumps({"@type": "NewsArticle", "isAccessibleForFree": False})
    head = f'<script type="application/ld+json">{not_free}</script>'
    record = _extract(tmp_path, capsys, _page(head))
    assert record["paywalled"] is True and record["text"].startswith("The council met")
    box = '<div class="paywall">Subscribe to read the rest of this story today.</div>'
    assert _extract(tmp_path, capsys, _page(after=box))["paywalled"] is True
    empty_box = '<div class="paywall"></div>'  # a vendor's box on a free page: no prompt
    assert _extract(tmp_path, capsys, _page(after=empty_box))["paywalled"] is False


SHELL = "<html><head><title>App</title></head><body><div id='app'>Loading</div></body></html>"
DESCRIPTION = "<p>The council approved the valley water plan on Saturday.</p><p>" + STORY + "</p>"
ITEMS = """<item><title>Water plan</title><guid isPermaLink="true">{base}/news/water</guid>
<pubDate>Sat, 04 Oct 2025 10:00:00 +0300</pubDate><description><![CDATA[{description}]]>
</description></item>
<item><title>Shell only</title><link>{base}/news/empty</link>
<pubDate>Sat, 04 Oct 2025 11:00:00 +0300</pubDate><description>Short.</description></item>"""


def test_a_feed_items_description_stands_for_a_page_that_yields_nothing(tmp_path):
    """Ingest of a feed whose items are linked by their guid alone and whose pages are script
    shells: the item with an article's worth of description is stored with that text, its
    provenance said; the one with a line of description is no article, as before."""
    with HostileSite() as site:
        base = site.base_url
        items = ITEMS.format(base=base, description=DESCRIPTION)
        feed = f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'
        site.route("/robots.txt", response("", "404 Not Found"))
        site.route("/feed.xml", response(feed, content_type="application/rss+xml"))
        site.route("/news/water", response(SHELL))
        site.route("/news/empty", response(SHELL))
        fast = Politeness(timeout_seconds=3.0, retries=0, delay_seconds=0, deadline_seconds=5.0)
        source = Source(
            "shells", "Shells", "feed", base, "en", politeness=fast,
            options={"feed_url": "/feed.xml"},
        )  # fmt: skip
        warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
        warehouse.register_sources([source])

        async def ingest() -> None:
            with PageProcessor(workers=0) as processor:
                async with HttpClient() as client:
                    await ingest_source(
                        source, IngestRun(RunKey("feed")), warehouse, client, processor
                    )

        asyncio.run(ingest())
    query = "SELECT url, title, text, text_source, published_source FROM articles"
    with store.connect(tmp_path / "w.duckdb") as conn:
        rows = conn.execute(query).fetchall()
    [(url, title, text, text_source, published_source)] = rows
    assert (url, title) == (f"{base}/news/water", "Water plan")
    assert text.startswith("The council approved") and STORY in text
    assert (text_source, published_source) == ("feed_description", "feed")
