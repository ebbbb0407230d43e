"""A URL is fetched once: the frontier's states, aliases and revisit schedule, from the CLI.

A sitemap source on a local site lists plain articles, URLs that redirect to an article or
name another URL of the site as canonical, an exact copy, a page claiming another site's URL,
a 404 and a 503. The tests count the requests the site receives.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hostile_site import HostileSite, redirect, response, urlset

from connectors.config import load_sources
from connectors.http import HttpClient
from flows.cli import main
from pipeline.ingest import IngestRun, ingest_source
from pipeline.pages import PageProcessor
from warehouse import store
from warehouse.interface import DuckDBWarehouse
from warehouse.loads import RunKey

TOPICS = ("flood in Derbent", "bridge over the Kura", "elections in Tbilisi", "grain from Baku")
PAGES = ["/a/1", "/a/2", "/a/3", "/r/1", "/r/2", "/c/1", "/c/x", "/d/1", "/404", "/503"]


def article(topic: str, canonical: str | None = None) -> bytes:
    """An article page about a topic; its text differs from every other topic's."""
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    paragraphs = "".join(
        f"<p>Report {i} on the {topic}: officials said on Tuesday that work goes on as planned "
        f"and that residents were informed of every step taken so far.</p>"
        for i in range(6)
    )
    return response(
        f"<html><head><title>News on the {topic}</title>{link}</head>"
        f"<body><article><h1>News on the {topic}</h1>{paragraphs}</article></body></html>"
    )


@pytest.fixture
def crawl(tmp_path, monkeypatch, configure):
    """The site, a sources.yaml reading its sitemap, and a fresh warehouse file."""
    with HostileSite() as site, HostileSite() as other:
        base = site.base_url
        good_url = f"http://localhost:{other.port}/g/1"  # another site: another host name
        site.route(
            "/sitemap.xml",
            response(urlset([base + p for p in PAGES]), content_type="application/xml"),
        )
        site.route("/a/1", article(TOPICS[0]))
        site.route("/a/2", article(TOPICS[1]))
        site.route("/a/3", article(TOPICS[2]))
        site.route("/a/4", article(TOPICS[3]))
        site.route("/a/5", article("harbour in Poti"))
        site.route("/r/1", redirect(base + "/a/1"))  # to a listed article
        site.route("/r/2", redirect(base + "/a/4"))  # to an article no listing names
        site.route("/c/1", article("harbour in Poti", canonical=base + "/a/5"))
        site.route("/c/x", article("wine fair in Kakheti", canonical=good_url))
        site.route("/d/1", article(TOPICS[1]))  # the same text as /a/2
        site.route("/404", response("gone", "404 Not Found"))
        site.route("/503", response("busy", "503 Service Unavailable"))
        site.route("/robots.txt", response("User-agent: *\nAllow: /\n", content_type="text/plain"))
        sources = tmp_path / "sources.yaml"
        _write_sources(sources, base)
        configure(sources_file=Path(sources))
        configure(db=Path(tmp_path / "w.duckdb"))
        configure(politeness="timeout_seconds=3,retries=0,delay_seconds=0")
        configure(base_url=None)
        yield site, sources, good_url


def _write_sources(path: Path, base: str, **revisit: object) -> None:
    source = {"id": "local", "name": "Local", "kind": "sitemap", "base_url": base}
    source["sitemap_url"] = "/sitemap.xml"
    document = {"defaults": {"revisit": revisit} if revisit else {}, "sources": [source]}
    path.write_text(yaml.safe_dump(document), encoding="utf-8")


def _pages(site: HostileSite, since: int) -> list[str]:
    """Article pages requested since the `since`-th request (not sitemap or robots.txt)."""
    return sorted(p for p in site.paths()[since:] if p not in ("/sitemap.xml", "/robots.txt"))


def _ingest(*args: str) -> None:
    assert main(["ingest", "--failure-threshold", "1", *args]) == 0


def _rows(query: str) -> list[tuple]:
    with store.connect(read_only=True) as conn:
        return conn.execute(query).fetchall()


def test_aliases_duplicates_and_failures_are_known_after_one_run(prefect_api, crawl):
    site, _, good_url = crawl
    _ingest()
    base = site.base_url
    frontier = {
        url[len(base) :]: rest
        for url, *rest in _rows("select url, state, resolved_url, via from frontier order by url")
    }
    assert frontier["/a/1"] == ["stored", base + "/a/1", None]
    assert frontier["/r/1"] == ["alias", base + "/a/1", "redirect"]
    assert frontier["/r/2"] == ["alias", base + "/a/4", "redirect"]
    assert frontier["/a/4"] == ["stored", base + "/a/4", None]
    assert frontier["/c/1"] == ["alias", base + "/a/5", "canonical"]
    assert frontier["/d/1"] == ["duplicate", base + "/a/2", "text"]
    assert frontier["/404"][0] == "http_error" and frontier["/503"][0] == "http_error"
    # another site's URL named as canonical is kept as an attribute, never as the identity
    assert frontier["/c/x"] == ["stored", base + "/c/x", None]
    assert _rows(f"select declared_canonical from articles where url = '{base}/c/x'") == [
        (good_url,)
    ]
    # the article keeps every URL that led to it
    assert sorted(
        u for (u,) in _rows(f"select url from article_urls where article_url = '{base}/a/1'")
    ) == [base + "/a/1", base + "/r/1"]


def test_every_listed_url_has_one_frontier_row_and_every_request_a_log_row(prefect_api, crawl):
    site, _, _ = crawl
    _ingest()
    listed = {site.base_url + p for p in PAGES}
    rows = [url for (url,) in _rows("select url from frontier")]
    assert listed <= set(rows) and len(rows) == len(set(rows))
    assert set(PAGES) <= set(_pages(site, 0))  # (a redirect's target is a hop, not an attempt)
    logged = _rows("select url from fetch_log where kind = 'article'")
    assert sorted(url for (url,) in logged) == sorted(listed)


def test_an_immediate_second_run_requests_no_page(prefect_api, crawl):
    site, _, _ = crawl
    _ingest()
    seen = len(site.paths())
    _ingest()
    assert _pages(site, seen) == []


def test_a_zero_backoff_retries_only_the_passing_failure(prefect_api, crawl):
    site, sources, _ = crawl
    _write_sources(sources, site.base_url, transient_backoff_hours=[0])
    _ingest()
    seen = len(site.paths())
    _ingest()
    assert _pages(site, seen) == ["/503"]
    seen = len(site.paths())
    _ingest()
    assert _pages(site, seen) == []  # one step of back-off, then given up


def test_refetch_failed_requests_the_failures_again(prefect_api, crawl):
    site, _, _ = crawl
    _ingest()
    seen = len(site.paths())
    _ingest("--refetch", "failed")
    assert _pages(site, seen) == ["/404", "/503"]


def test_a_month_later_the_404_is_retried_once_and_the_503_after_its_backoffs(crawl):
    """The core with an injected clock: the revisit policy's schedule, run after run."""
    site, _, _ = crawl
    [source] = load_sources()
    warehouse = DuckDBWarehouse()
    warehouse.register_sources([source])
    start = datetime.now(UTC)

    def run_at(day: float) -> list[str]:
        seen = len(site.paths())

        async def run() -> None:
            async with HttpClient() as client:
                with PageProcessor(workers=0) as pages:
                    params = IngestRun(RunKey(f"day-{day}"))
                    clock = lambda: start + timedelta(days=day)  # noqa: E731
                    await ingest_source(source, params, warehouse, client, pages, clock)

        asyncio.run(run())
        return _pages(site, seen)

    assert {"/404", "/503"} <= set(run_at(0))
    # default policy: transient after 2 h, 8 h, 1 day, 3 days; permanent after 30 days, twice
    assert run_at(0.01) == []
    assert run_at(0.1) == ["/503"]  # 2.4 h
    assert run_at(0.5) == ["/503"]  # +8 h
    assert run_at(1.6) == ["/503"]  # +1 day
    assert run_at(5) == ["/503"]  # +3 days
    assert run_at(31) == ["/404"]  # the 503 was given up after its last back-off
    assert run_at(62) == []  # the 404 had its permanent_attempts
