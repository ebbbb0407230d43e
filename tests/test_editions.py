"""Editions: Caliber.Az publishes one story in English, Russian and Azerbaijani, linked by
<link rel="alternate" hreflang>; the warehouse links them, and English readers get the
publisher's own English edition rather than a machine translation.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from itertools import permutations
from pathlib import Path

import httpx
import pytest

from connectors.config import PROJECT_ROOT, Source, load_sources
from connectors.http import HttpClient
from connectors.records import FetchAttempt, Outcome
from pipeline.ingest import IngestRun, ingest_source
from pipeline.pages import PageProcessor
from pipeline.reprocess import reprocess_pages
from processing.page import process_page
from processing.records import UrlResult
from warehouse import store
from warehouse.interface import DuckDBWarehouse
from warehouse.loads import RunKey

NOW = datetime(2025, 10, 10, 12, 0, tzinfo=UTC)
FERRIES = {  # one story, three editions
    "en": "/en/post/azerbaijan-and-kazakhstan-agree-to-expand-caspian-ferry-fleet",
    "ru": "/post/azerbajdzhan-i-kazahstan-rasshiryat-paromnyj-flot-na-kaspii",
    "az": "/az/post/azerbaycan-ve-qazaxistan-xezerde-bere-donanmasini-genislendirecek",
}
DEMINING = {  # one story, two editions
    "en": "/en/post/baku-to-host-international-conference-on-humanitarian-demining",
    "ru": "/post/v-baku-projdet-mezhdunarodnaya-konferenciya-po-gumanitarnomu-razminirovaniyu",
}


def _caliber(base_url: str | None = None) -> Source:
    """The shipped caliber-az source, read from the fixture site when base_url is given."""
    sources = load_sources(PROJECT_ROOT / "sources.yaml", base_url_override=base_url)
    return next(s for s in sources if s.id == "caliber-az")


def _rows(path: Path, query: str) -> list[tuple]:
    with store.connect(path, read_only=True) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture(scope="module")
def ingested(site, ru_model, tmp_path_factory) -> Path:
    """One ingest of the Caliber.Az twin, with a Russian model installed (none for Azerbaijani)."""
    path = tmp_path_factory.mktemp("editions") / "w.duckdb"
    source = _caliber(site.base_url)
    warehouse = DuckDBWarehouse(path)
    warehouse.register_sources([source])

    async def run() -> None:
        async with HttpClient() as client:
            with PageProcessor(workers=0) as pages:
                await ingest_source(source, IngestRun(RunKey("r1")), warehouse, client, pages)

    asyncio.run(run())
    return path


def _group_of(path: Path, url: str) -> str | None:
    rows = _rows(path, f"select edition_group from edition_groups where url = '{url}'")
    return rows[0][0] if rows else None


def test_a_story_in_three_languages_is_one_edition_group(ingested, site):
    ferries = {language: site.url("caliber-az", p) for language, p in FERRIES.items()}
    demining = {language: site.url("caliber-az", p) for language, p in DEMINING.items()}
    groups = dict(_rows(ingested, "select url, edition_group from edition_groups"))
    assert {groups[url] for url in ferries.values()} == {min(ferries.values())}
    assert {groups[url] for url in demining.values()} == {min(demining.values())}
    assert set(groups) == {*ferries.values(), *demining.values()}  # no other story has editions
    # the Russian page's own links: the other two editions, not itself, not x-default
    assert sorted(
        _rows(
            ingested,
            f"select language, edition_url from article_editions where url = '{ferries['ru']}'",
        )
    ) == [("az", ferries["az"]), ("en", ferries["en"])]


def test_articles_en_takes_the_publishers_english_edition_over_the_model(ingested, site):
    rows = {
        url[len(site.source_base("caliber-az")) :]: rest
        for url, *rest in _rows(
            ingested,
            "select e.url, e.english_from, e.english_url, e.title_en, e.text_en, "
            "a.translation_status from articles_en e join articles a using (url)",
        )
    }
    english = rows[FERRIES["en"]]
    assert english[:3] == [
        "original",
        None,
        "Azerbaijan and Kazakhstan Agree to Expand Caspian Ferry Fleet",
    ]
    for edition in (FERRIES["ru"], FERRIES["az"]):
        assert rows[edition][:4] == [
            "publisher_edition",
            site.url("caliber-az", FERRIES["en"]),
            english[2],
            english[3],
        ]
    assert rows[FERRIES["ru"]][4] == "done"  # the model's English exists, and is not used
    assert rows[DEMINING["ru"]][0] == "publisher_edition"
    # stories without an English edition: the model's English, or none yet (no az model)
    assert rows["/post/ekspert-ocenil-perspektivy-dialoga-baku-i-moskvy"][0] == "machine"
    assert rows["/az/post/gencede-yeni-logistika-merkezinin-tikintisine-baslanilib"][:4] == [
        "pending",
        None,
        None,
        None,
    ]


def _results(site, source: Source, paths: list[str]) -> list[UrlResult]:
    """The fixture pages fetched and processed as ingest does."""
    results = []
    for path in paths:
        url = site.url("caliber-az", path)
        body = httpx.get(url).text
        attempt = FetchAttempt("caliber-az", url, Outcome.OK, NOW, 200, "text/html", body)
        page = process_page(source, url, body, "text/html", NOW)
        results.append(UrlResult(attempt, page.article))
    return results


def test_the_group_is_the_same_whichever_edition_comes_first_in_separate_runs(site, tmp_path):
    source = _caliber(site.base_url)
    expected = min(site.url("caliber-az", p) for p in FERRIES.values())
    for number, order in enumerate(permutations(FERRIES.values())):
        path = tmp_path / f"order-{number}.duckdb"
        warehouse = DuckDBWarehouse(path)
        for run, page in enumerate(order):  # one edition per run; the name never changes
            results = _results(site, source, [page])
            warehouse.commit_chunk(RunKey(f"r{run}"), results, lambda _: source.revisit, NOW)
            groups = _rows(path, "select distinct edition_group from edition_groups")
            assert groups == [(expected,)]


def _page(title: str, *alternates: tuple[str, str]) -> str:
    links = "".join(
        f'<link rel="alternate" hreflang="{lang}" href="{url}">' for lang, url in alternates
    )
    text = "".join(
        f"<p>{title}: paragraph {i} of a report that is long enough to be an article, with the "
        f"facts and the quotes a reader expects from a news story of this kind.</p>"
        for i in range(4)
    )
    head = f"<head><title>{title}</title>{links}</head>"
    return f"<html>{head}<body><article>{text}</article></body></html>"


def test_two_groups_merge_when_a_page_links_both_and_nothing_else_joins_them(tmp_path):
    source = _caliber()  # https://caliber.az
    site = "https://caliber.az"
    pages = {  # each page names itself too, as hreflang sets do
        f"{site}/post/1": _page(
            "Report one", ("ru", f"{site}/post/1"), ("en", f"{site}/en/post/1")
        ),
        f"{site}/az/post/2": _page(
            "Report two", ("az", f"{site}/az/post/2"), ("en", f"{site}/en/post/2")
        ),
        # links both groups, and a look-alike on another site that must not join them
        f"{site}/en/post/2": _page(
            "Report three",
            ("en", f"{site}/en/post/2"),
            ("ru", f"{site}/post/1"),
            ("az", f"{site}/az/post/2"),
            ("en-gb", "https://caliber.az.example.net/en/post/2"),
            ("uk", "http://[caliber.az/uk/post/2"),  # malformed: skipped, not a crash
        ),
        # a template's links to the language home pages, not to editions of this story
        f"{site}/post/3": _page("Report four", ("en", f"{site}/en/"), ("az", f"{site}/az/")),
    }
    path = tmp_path / "w.duckdb"
    warehouse = DuckDBWarehouse(path)
    for run, (url, body) in enumerate(pages.items()):
        attempt = FetchAttempt("caliber-az", url, Outcome.OK, NOW, 200, "text/html", body)
        article = process_page(source, url, body, "text/html", NOW).article
        warehouse.commit_chunk(
            RunKey(f"r{run}"), [UrlResult(attempt, article)], lambda _: source.revisit, NOW
        )
        if run == 1:  # two separate groups so far
            assert _group_of(path, f"{site}/az/post/2") == f"{site}/az/post/2"
            assert _group_of(path, f"{site}/post/1") == f"{site}/en/post/1"
    groups = dict(_rows(path, "select url, edition_group from edition_groups"))
    assert groups == dict.fromkeys(
        [f"{site}/post/1", f"{site}/en/post/1", f"{site}/az/post/2", f"{site}/en/post/2"],
        f"{site}/az/post/2",
    )
    assert _rows(path, "select distinct url from article_editions order by url") == [
        (f"{site}/az/post/2",),
        (f"{site}/en/post/2",),
        (f"{site}/post/1",),
    ]
    assert _rows(
        path, "select count(*) from article_editions where edition_url like '%example%'"
    ) == [(0,)]


def test_reprocessing_a_warehouse_from_before_editions_links_them(ingested, site, tmp_path):
    """Articles stored before the editions were read get them from the raw archive."""
    path = tmp_path / "older.duckdb"
    shutil.copy(ingested, path)  # a copy of the warehouse is its file and its archive
    shutil.copytree(ingested.with_name(f"{ingested.stem}.archive"), tmp_path / "older.archive")
    with store.connect(path) as conn:  # as a warehouse migrated to 0012 has them: none yet
        conn.execute("delete from article_editions; delete from edition_groups")
    warehouse = DuckDBWarehouse(path)
    source = _caliber(site.base_url)

    async def reprocess() -> None:
        with PageProcessor(workers=0) as pages:
            archived = warehouse.archived_pages(
                warehouse.archived_urls(None, "caliber-az", None, None)
            )
            articles = await reprocess_pages(archived, {source.id: source}, warehouse, pages)
            warehouse.replace_articles(articles)

    asyncio.run(reprocess())
    before = _rows(ingested, "select url, edition_group from edition_groups order by url")
    assert _rows(path, "select url, edition_group from edition_groups order by url") == before
