"""Source health: the source_health view analysts query, and the canary the maintenance flow
runs on each source's latest good article from the raw archive (no refetch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from connectors.config import load_sources, select_sources
from flows.cli import main
from flows.maintenance import maintenance
from processing.page import process_page
from warehouse import store
from warehouse.health import Canary, CanaryStatus, judge
from warehouse.reports import FAILURES

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
    ingested, tmp_path, monkeypatch, capsys
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
    monkeypatch.setenv("NEWSFLOW_SOURCES", str(changed))
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


def test_source_health_shows_volume_failures_walls_and_text_length(tmp_path, monkeypatch):
    """Fourteen days of a source's history, as the fetch log and articles hold them."""
    monkeypatch.setenv("NEWSFLOW_DB", str(tmp_path / "w.duckdb"))
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


def test_every_failure_the_run_summary_counts_is_a_failure_in_source_health(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_DB", str(tmp_path / "w.duckdb"))
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
