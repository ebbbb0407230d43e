"""Bot walls: a challenge page ends its URL as `blocked`, with the vendor, whether it came as an
error or as a 2xx interstitial; a blocked listing says so, and a real article that talks about
walls is still an article. The challenge pages are fixtures in tests/pages/walls/."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from conftest import FAST_POLITENESS
from hostile_site import HostileSite, feed, response
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)

from connectors.config import Politeness, Source
from connectors.discovery import discover
from connectors.http import HttpClient
from flows.cli import main
from flows.summary import final_state
from pipeline.ingest import IngestRun, ingest_source
from pipeline.pages import PageProcessor
from pipeline.summary import markdown
from processing.page import process_page
from warehouse import store
from warehouse.interface import DuckDBWarehouse
from warehouse.loads import RunKey

pytestmark = pytest.mark.anyio
WALLS = Path(__file__).parent / "pages" / "walls"
# Retries allowed, so that a test can see a wall is never asked twice in a run.
POLITE = Politeness(
    timeout_seconds=2.0, retries=2, backoff_seconds=0.01, delay_seconds=0, deadline_seconds=5.0
)
RAY = {"Server": "cloudflare", "CF-RAY": "8d1a2b3c4d5e6f70-FRA"}
CHALLENGED = {**RAY, "cf-mitigated": "challenge"}
QRATOR = {"Server": "QRATOR"}
DDG = {"Server": "ddos-guard", "Set-Cookie": "__ddg1_=Vb3U7rQ5L0TgK4m2Q9Zx; Path=/; HttpOnly"}


def page(name: str) -> str:
    return (WALLS / name).read_text(encoding="utf-8")


def source(
    site: HostileSite, kind: str = "feed", source_id: str = "walled", **options: str
) -> Source:
    return Source(
        source_id,
        source_id,
        kind,
        site.base_url,
        politeness=POLITE,
        options=options or {"feed_url": "/feed.xml"},
    )


@pytest.fixture
def site():
    with HostileSite() as hostile:
        hostile.route("/robots.txt", response("", "404 Not Found"))
        yield hostile


async def fetch(site: HostileSite, path: str):
    async with HttpClient() as client:
        return await client.fetch(site.url(path), source(site))


@pytest.mark.parametrize(
    ("fixture", "status", "headers", "vendor"),
    [
        ("cloudflare_managed.html", "403 Forbidden", CHALLENGED, "cloudflare"),
        ("cloudflare_managed.html", "503 Service Temporarily Unavailable", RAY, "cloudflare"),
        ("cloudflare_managed.html", "200 OK", RAY, "cloudflare"),
        ("cloudflare_blocked.html", "403 Forbidden", RAY, "cloudflare"),
        ("ddos_guard.html", "403 Forbidden", DDG, "ddos-guard"),
        ("ddos_guard.html", "200 OK", DDG, "ddos-guard"),
        ("qrator.html", "401 Unauthorized", QRATOR, "qrator"),
        ("qrator.html", "200 OK", {}, "qrator"),
        ("js_challenge.html", "200 OK", {}, "js-challenge"),
        ("js_challenge.html", "503 Service Unavailable", {}, "js-challenge"),
    ],
)  # fmt: skip
async def test_a_challenge_page_is_blocked_with_its_vendor_and_asked_once(
    site, fixture, status, headers, vendor
):
    site.route("/news/1", response(page(fixture), status, headers=headers))
    attempt = await fetch(site, "/news/1")
    assert attempt.outcome == "blocked"
    assert attempt.error.startswith(f"blocked by {vendor}: ")
    assert attempt.http_status == int(status.split()[0])
    assert attempt.is_transient and not attempt.is_permanent  # walls lift: a later run retries
    assert site.paths().count("/news/1") == 1  # no retry within the run, whatever `retries` says


async def test_a_vendor_header_alone_on_an_error_is_a_wall_and_on_a_page_is_not(site):
    site.route("/gone", response("", "403 Forbidden", headers=DDG))
    site.route("/ok", response(page("article_about_walls.html"), headers=DDG))
    assert (await fetch(site, "/gone")).error.startswith("blocked by ddos-guard: server")
    assert (await fetch(site, "/ok")).outcome == "ok"


async def test_an_article_about_walls_behind_cloudflare_is_an_article(site):
    """It quotes every marker in its text, runs Cloudflare's injected bot script and a
    cookie-consent script that reloads: still a page, and it extracts."""
    site.route("/articles/walls", response(page("article_about_walls.html"), headers=RAY))
    attempt = await fetch(site, "/articles/walls")
    assert attempt.outcome == "ok"
    result = process_page(
        source(site), attempt.url, attempt.text, "text/html", attempt.attempted_at
    )
    assert result.article is not None
    assert result.article.title.startswith("Why readers in Baku keep seeing")
    assert "window._cf_chl_opt" in result.article.text


async def test_a_wall_in_front_of_robots_txt_blocks_the_host_without_asking_further(site):
    site.route("/robots.txt", response(page("ddos_guard.html"), "403 Forbidden", headers=DDG))
    site.route("/news/1", response(page("article_about_walls.html")))
    attempt = await fetch(site, "/news/1")
    assert attempt.outcome == "blocked" and attempt.error.startswith("blocked by ddos-guard: ")
    assert site.paths() == ["/robots.txt"]


async def test_a_plain_404_and_a_500_stay_http_errors(site):
    site.route("/err", response("<html><body><h1>Server error</h1></body></html>", "500 Oops"))
    assert (await fetch(site, "/missing")).outcome == "http_error"
    assert (await fetch(site, "/err")).outcome == "http_error"


@pytest.mark.parametrize(
    ("kind", "options"),
    [("sitemap", {"sitemap_url": "/sitemap.xml"}), ("feed", {"feed_url": "/feed.xml"})],
)
async def test_a_walled_listing_makes_discovery_say_blocked_not_empty_or_malformed(
    site, kind, options
):
    path = next(iter(options.values()))
    site.route(path, response(page("cloudflare_managed.html"), headers=RAY))  # 200 interstitial
    async with HttpClient() as client:
        found = await discover(source(site, kind, **options), client)
    [listing] = found.attempts
    assert (listing.outcome, listing.kind) == ("blocked", "listing")
    assert listing.error == "blocked by cloudflare: window._cf_chl_opt challenge script (HTTP 200)"
    assert found.links == []


def test_a_run_behind_walls_names_the_sources_and_vendors(tmp_path):
    """One run of two sources: one whose article pages sit behind Cloudflare (the host is asked
    once, the rest of its URLs wait without a request), one whose feed DDoS-Guard answers."""
    with HostileSite() as articles, HostileSite() as guarded:
        for site in (articles, guarded):
            site.route("/robots.txt", response("", "404 Not Found"))
        links = [articles.url(f"/news/{i}") for i in range(4)]
        articles.route("/feed.xml", response(feed(links), content_type="application/rss+xml"))
        challenge = page("cloudflare_managed.html")
        for i in range(4):
            articles.route(f"/news/{i}", response(challenge, "403 Forbidden", headers=RAY))
        guarded.route("/feed.xml", response(page("ddos_guard.html"), "403 Forbidden", headers=DDG))
        warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
        run = IngestRun(RunKey("walls-run"))
        now = datetime(2025, 10, 6, 8, tzinfo=UTC)

        async def ingest() -> None:
            with PageProcessor(workers=0) as pages:
                for site, source_id in ((articles, "cf-site"), (guarded, "ddg-site")):
                    walled = source(site, "feed", source_id, feed_url="/feed.xml")
                    async with HttpClient() as client:
                        await ingest_source(walled, run, warehouse, client, pages, lambda: now)

        asyncio.run(ingest())
        article_requests = [p for p in articles.paths() if p.startswith("/news/")]
        # The wall is not hammered: only the requests in flight when it answered were sent.
        assert len(article_requests) <= POLITE.max_per_host
    cf, ddg = warehouse.run_report(run.run)
    assert (cf.walls, cf.failed, cf.walled_out) == ({"cloudflare": 4}, 4, False)
    assert (ddg.walls, ddg.listings_blocked, ddg.walled_out) == ({"ddos-guard": 1}, 1, True)
    text = markdown([cf, ddg], "ingest")
    assert "| ddg-site (blocked by ddos-guard: no listing could be read) |" in text
    assert "- **cf-site**: blocked by cloudflare 4" in text
    state = final_state([cf, ddg], failure_threshold=0.2)
    assert state.message == (
        "partial failure: 4 of 5 URLs of cf-site failed (80% > 20%) (blocked by cloudflare 4); "
        "ddg-site is behind a bot wall, no listing could be read (blocked by ddos-guard 1)"
    )
    with store.connect(tmp_path / "w.duckdb") as conn:
        due = conn.execute(
            "SELECT DISTINCT state, next_due FROM frontier WHERE source_id = 'cf-site'"
        ).fetchall()
    assert due == [("blocked", now + timedelta(hours=2))]  # the transient back-off's first step


def test_the_ingest_flow_names_a_walled_source_in_its_state_and_summary(
    prefect_api, site, tmp_path, monkeypatch, capsys, configure
):
    site.route("/rss.xml", response(page("qrator.html"), "401 Unauthorized", headers=QRATOR))
    walled = {"id": "walled", "name": "Walled", "kind": "feed", "base_url": site.base_url}
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": [{**walled, "feed_url": "/rss.xml"}]}))
    configure(sources_file=Path(sources))
    configure(db=Path(tmp_path / "w.duckdb"))
    configure(politeness=FAST_POLITENESS)
    configure(base_url=None)

    assert main(["ingest"]) == 1

    verdict = capsys.readouterr().err.strip().splitlines()[-1]
    assert verdict == (
        "partial failure: walled is behind a bot wall, no listing could be read "
        "(blocked by qrator 1)"
    )
    with store.connect(read_only=True) as conn:
        [(run_id, error)] = conn.execute(
            "SELECT run_id, error FROM fetch_log WHERE outcome = 'blocked'"
        ).fetchall()
    assert error == "blocked by qrator: Qrator headers on HTTP 401"
    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]),
                key=ArtifactFilterKey(any_=["ingest-summary"]),
            )
        )
    assert "| walled (blocked by qrator: no listing could be read) |" in artifact.data
    assert "#### Bot walls (tried again in a later run)\n\n- **walled**: blocked by qrator 1" in (
        artifact.data
    )
