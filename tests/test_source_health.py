"""Source health: the source_health view analysts query, and the canary the maintenance flow
runs on each source's latest good article from the raw archive (no refetch)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hostile_site import HostileSite, feed, response

from connectors.config import Politeness, Source, load_sources, select_sources
from connectors.http import HttpClient
from connectors.records import FAILURES
from flows.cli import main
from flows.maintenance import maintenance
from pipeline.ingest import IngestRun, ingest_source
from pipeline.pages import PageProcessor
from processing.page import process_page
from warehouse import store
from warehouse.health import Canary, CanaryStatus, check_canaries, judge
from warehouse.interface import DuckDBWarehouse
from warehouse.loads import RunKey

SOURCE = "caucasian-knot-en"
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def ingested(prefect_api, pointed_at_site):
    """The fixture site's English Caucasian Knot, ingested once into a fresh warehouse."""
    assert main(["ingest", "--source", SOURCE, "--failure-threshold", "1"]) == 0
    return pointed_at_site


def _health(*columns: str) -> tuple:
    with store.connect(read_only=True) as conn:
        row = conn.execute(
            f"SELECT {', '.join(columns)} FROM source_health WHERE source_id = ?", [SOURCE]
        ).fetchone()
    assert row is not None
    return row


def test_the_canary_of_an_unchanged_source_is_ok_and_sql_users_see_it(ingested, capsys):
    done = maintenance()
    assert done["layout_changed"] == {}
    status, success, attempts, chars = _health(
        "canary_status", "last_success", "attempts_14d", "median_text_chars_14d"
    )
    assert status == "ok" and success > NOW - timedelta(hours=1)
    assert attempts > 0 and chars > 300
    capsys.readouterr()
    assert main(["sql", "SELECT source_id, canary_status FROM source_health"]) == 0
    assert SOURCE in capsys.readouterr().out


def test_a_cleanup_rule_that_eats_the_article_body_flags_the_source(
    ingested,
    tmp_path,
    monkeypatch,
    capsys,
    configure,
):
    """A rule that drops all but the first paragraph is how a layout change looks to the
    parser: the canary re-extracts its archived page with today's rules, and nothing is
    fetched again."""
    with open("sources.yaml", encoding="utf-8") as shipped:
        document = yaml.safe_load(shipped)
    [entry] = [s for s in document["sources"] if s["id"] == SOURCE]
    entry["cleanup"]["drop_selectors"].append(".article-body p:nth-of-type(n+2)")
    changed = tmp_path / "sources.yaml"
    changed.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    configure(sources_file=Path(changed))
    requests = len(ingested.requests)

    assert main(["maintenance"]) == 1  # as a user (or cron) runs it: 1 when a source is flagged

    assert len(ingested.requests) == requests  # from the archive, no refetch
    status, reason = _health("canary_status", "canary_reason")
    assert status == "changed" and reason.startswith("text shrank from ")
    assert f"{SOURCE}: layout changed: {reason}" in capsys.readouterr().err
    with store.connect(read_only=True) as conn:
        history = conn.execute(
            "SELECT status FROM canary_checks WHERE source_id = ? ORDER BY checked_at", [SOURCE]
        ).fetchall()
    assert history == [("ok",), ("changed",)]  # kept: when did it break?


def test_a_page_that_lost_its_title_and_date_is_flagged():
    [source] = select_sources(load_sources(), [SOURCE])
    text = "".join(
        f"<p>Paragraph {i}: residents of the coastal villages were evacuated after the river "
        "broke its banks overnight, the regional emergency ministry said on Tuesday.</p>"
        for i in range(6)
    )
    page = f"<html><body><main>{text}</main></body></html>"
    result = process_page(source, "https://x/articles/1/", page, None, NOW)
    assert result.article is not None
    stored = Canary(
        SOURCE, "https://x/articles/1/", page, NOW, None, "Flood in Derbent", NOW, "en",
        len(result.article.text),
    )  # fmt: skip
    check = judge(stored, result, NOW)
    assert check.status == CanaryStatus.CHANGED
    assert check.lost == ("title", "published_at")
    assert check.reason == "lost title, published_at"


def test_source_health_shows_volume_failures_walls_and_text_length(
    tmp_path, monkeypatch, configure
):
    """Fourteen days of a source's history, as the fetch log and articles hold them."""
    configure(db=Path(tmp_path / "w.duckdb"))
    new_per_day = [3, 5, 0, 4, 6, 2, 5, 0, 4, 3, 7, 5, 4, 6]  # median 4
    log = []
    for days_ago, new in enumerate(new_per_day):
        at = NOW - timedelta(days=days_ago, minutes=1)
        log.append((f"https://s/feed?{days_ago}", "listed", "listing", at, None))
        log += [(f"https://s/{days_ago}/{i}", "stored", "article", at, None) for i in range(new)]
    failures = [
        ("https://s/x/1", "http_error", "article", NOW, "HTTP 404 Not Found"),
        ("https://s/x/2", "blocked", "article", NOW, "blocked by qrator: Qrator qauth script"),
        ("https://s/x/3", "blocked", "listing", NOW, "blocked by cloudflare: cf-mitigated"),
        ("https://s/x/4", "skipped", "article", NOW, "disallowed by robots.txt"),
        ("https://s/old", "timeout", "article", NOW - timedelta(days=20), "no answer"),
    ]
    texts = [(100, 1), (200, 2), (900, 3), (1000, 20), (1200, 30), (5000, 200)]  # chars, age
    with store.connect() as conn:
        conn.executemany(
            "INSERT INTO fetch_log (run_id, source_id, url, outcome, kind, attempted_at, error) "
            "VALUES ('r', 'steady', ?, ?, ?, ?, ?)",
            log + failures,
        )
        conn.executemany(
            "INSERT INTO articles (url, source_id, text, language, fetched_at, content_hash, "
            "translation_status) VALUES (?, 'steady', ?, 'en', ?, ?, 'not_needed')",
            [(f"https://s/t/{n}", "x" * n, NOW - timedelta(days=d), str(n)) for n, d in texts],
        )
    with store.connect(read_only=True) as conn:
        row = conn.execute(
            "SELECT new_per_day_median_14d, attempts_14d, failure_rate_14d, blocked_rate_14d, "
            "blocked_by, median_text_chars_14d, median_text_chars_before, last_new_article "
            "FROM source_health WHERE source_id = 'steady'"
        ).fetchone()
    attempts = len(log) + 3  # the skipped URL and the 20-day-old timeout do not count
    assert row[:5] == (4, attempts, 3 / attempts, 2 / attempts, ["cloudflare", "qrator"])
    assert row[5:7] == (200, 1100)  # the last 14 days, then the 76 before them
    assert row[7] == NOW - timedelta(minutes=1)


def test_every_failure_the_run_summary_counts_is_a_failure_in_source_health(
    tmp_path, monkeypatch, configure
):
    configure(db=Path(tmp_path / "w.duckdb"))
    outcomes = [*FAILURES, "stored", "listed", "duplicate", "not_modified"]
    with store.connect() as conn:
        conn.executemany(
            "INSERT INTO fetch_log (run_id, source_id, url, outcome, kind, attempted_at) "
            "VALUES ('r', 'mixed', ?, ?, 'article', now())",
            [(f"https://m/{outcome}", outcome) for outcome in outcomes],
        )
        rate = conn.execute(
            "SELECT failure_rate_14d FROM source_health WHERE source_id = 'mixed'"
        ).fetchone()
    assert rate == (len(FAILURES) / len(outcomes),)


def _page(number: int, body: str) -> str:
    return (
        f"<html><head><title>Story {number} from Derbent</title></head><body>"
        f"<nav>Home | World | Sport</nav><article><h1>Story {number} from Derbent</h1>{body}"
        "</article></body></html>"
    )


def _paragraphs(number: int, count: int) -> str:
    return "".join(
        f"<p>Paragraph {i} of story {number}: rescuers evacuated residents of the coastal "
        "districts after the river broke its banks overnight, officials said on Tuesday.</p>"
        for i in range(count)
    )


def test_a_site_whose_new_pages_lost_their_body_is_flagged_from_its_newest_articles(tmp_path):
    """The site moved its article body into a script: the pages fetched since hold only their
    lead. The canary of an older article is fine; the newest articles against the ones before
    them are not."""
    with HostileSite() as site:
        site.route("/robots.txt", response("", "404 Not Found"))
        source = Source(
            "changing", "Changing", "feed", site.base_url, options={"feed_url": "/feed.xml"},
            politeness=Politeness(retries=0, delay_seconds=0, timeout_seconds=2),
        )  # fmt: skip
        warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")

        def publish(numbers: range, body: Callable[[int], str], at: datetime) -> None:
            for n in numbers:
                site.route(f"/news/{n}", response(_page(n, body(n))))
            links = [site.url(f"/news/{n}") for n in numbers]
            site.route("/feed.xml", response(feed(links), content_type="application/rss+xml"))

            async def ingest() -> None:
                async with HttpClient() as client:
                    with PageProcessor(workers=0) as pages:
                        run = IngestRun(RunKey(f"run-{at:%d}"))
                        await ingest_source(source, run, warehouse, client, pages, lambda: at)

            asyncio.run(ingest())

        publish(range(20), lambda n: _paragraphs(n, 8), NOW - timedelta(days=2))
        lead = "<p>Rescuers evacuated residents of the coastal districts overnight.</p>"
        script = "<script>window.__BODY__ = '...';</script>"
        publish(range(20, 25), lambda n: _paragraphs(n, 1) + lead + script, NOW)
        before = {site.url(f"/news/{n}") for n in range(20)}
    with store.connect(tmp_path / "w.duckdb") as conn:
        [check] = check_canaries(conn, {"changing": source}, NOW)
    assert check.status == CanaryStatus.CHANGED
    assert check.url in before  # the latest good article, which still extracts as it did
    assert check.reason.startswith("its last 5 articles have a median of ")
    assert "characters, under half of the 20 before them (" in check.reason
