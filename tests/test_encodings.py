"""Encodings you can trust: each page is decoded with the charset its bytes really use, and
every article records which charset won and why (header, BOM, meta tag or detection)."""

from __future__ import annotations

import asyncio
import codecs
from pathlib import Path

import pytest
from hostile_site import HostileSite, feed, response

from connectors.config import Politeness, Source
from connectors.http import HttpClient
from connectors.records import Charset, CharsetSource
from pipeline.ingest import IngestRun, ingest_source
from pipeline.pages import PageProcessor
from warehouse import store
from warehouse.interface import DuckDBWarehouse
from warehouse.loads import RunKey

PAGES = Path(__file__).parent / "pages" / "charsets"
FAST = Politeness(timeout_seconds=3.0, retries=0, delay_seconds=0, deadline_seconds=5.0)
RU_TITLE = "В Ингушетии после ливней восстановили движение по горной дороге"
ZH_TITLE = "朱镕基与王堃出席中亚交通走廊论坛"


def _utf16_with_bom(text: str) -> bytes:
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


# path: (fixture page, how the server encodes it, its Content-Type, the charset that must win)
CASES = {
    "/meta-1251": (
        "ru_windows1251_meta.html",
        lambda text: text.encode("cp1251"),
        "text/html",
        Charset("cp1251", CharsetSource.META),
    ),
    "/koi8": (
        "ru_undeclared.html",
        lambda text: text.encode("koi8-r"),
        "text/html",
        Charset("koi8-r", CharsetSource.DETECTED),
    ),
    "/bom": (
        "ru_undeclared.html",
        _utf16_with_bom,
        "text/html; charset=windows-1251",  # wrong: the byte-order mark says UTF-16
        Charset("utf-16", CharsetSource.BOM),
    ),
    "/gbk": (
        "zh_undeclared.html",
        lambda text: text.encode("gb18030"),  # what servers labelled GBK really send
        "text/html; charset=GBK",
        Charset("gb18030", CharsetSource.HEADER),
    ),
    "/gb2312": (
        "zh_gb2312_meta.html",
        lambda text: text.encode("gb18030"),
        "text/html",
        Charset("gb18030", CharsetSource.META),
    ),
    "/utf8": (
        "ru_undeclared.html",
        lambda text: text.encode("utf-8"),
        "text/html; charset=utf-8",
        Charset("utf-8", CharsetSource.HEADER),
    ),
}


@pytest.fixture(scope="module")
def site():
    with HostileSite() as hostile:
        hostile.route("/robots.txt", response("", "404 Not Found"))
        for path, (name, encode, content_type, _) in CASES.items():
            page = (PAGES / name).read_text(encoding="utf-8")
            hostile.route(path, response(encode(page), content_type=content_type))
        hostile.route(
            "/feed.xml",
            response(feed([hostile.url(p) for p in CASES]), content_type="application/rss+xml"),
        )
        yield hostile


def _source(site: HostileSite) -> Source:
    return Source(
        "charsets",
        "Charsets",
        "feed",
        site.base_url,
        politeness=FAST,
        options={"feed_url": "/feed.xml"},
    )


@pytest.mark.parametrize("path", CASES)
def test_each_page_is_decoded_with_the_charset_that_wins_and_says_why(site, path):
    async def fetch():
        async with HttpClient() as client:
            return await client.fetch(site.url(path), _source(site))

    attempt = asyncio.run(fetch())
    assert attempt.charset == CASES[path][3]
    assert RU_TITLE in attempt.text or ZH_TITLE in attempt.text


def test_a_gb_page_keeps_names_outside_gb2312_and_gbk(site):
    """镕 and 堃 are not in GB2312, 䶮 not even in GBK: read as GB18030, all three survive."""

    async def fetch():
        async with HttpClient() as client:
            return [await client.fetch(site.url(p), _source(site)) for p in ("/gbk", "/gb2312")]

    for attempt in asyncio.run(fetch()):
        assert "朱镕基" in attempt.text and "王堃" in attempt.text and "李䶮" in attempt.text
        assert "\ufffd" not in attempt.text


def test_every_article_records_its_charset_and_why(site, tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    source = _source(site)
    warehouse.register_sources([source])

    async def ingest() -> None:
        with PageProcessor(workers=0) as pages:
            async with HttpClient() as client:
                await ingest_source(source, IngestRun(RunKey("charsets")), warehouse, client, pages)

    asyncio.run(ingest())
    with store.connect(tmp_path / "w.duckdb") as conn:
        rows = conn.execute("SELECT url, title, charset, charset_source FROM articles").fetchall()
    stored = {
        url.removeprefix(site.base_url): (title, charset, why) for url, title, charset, why in rows
    }
    expected = {
        path: (ZH_TITLE if name.startswith("zh") else RU_TITLE, won.name, str(won.source))
        for path, (name, _, _, won) in CASES.items()
    }
    assert stored == expected  # same-text pages too: each row keeps its own page's charset
