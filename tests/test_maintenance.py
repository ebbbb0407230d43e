"""Maintenance keeps the file lean without losing what reprocessing needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.records import FetchAttempt
from flows.maintenance import maintenance
from processing.records import Article, Outcome, Translation
from warehouse import store
from warehouse.archive import archived_pages
from warehouse.maintenance import compact_archive
from warehouse.search import search

NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=90)


def _listing(url: str, body: str, when: datetime) -> Outcome:
    return Outcome(
        FetchAttempt(
            "caliber-az", url, "listed", when, 200, "application/rss+xml", body, kind="listing"
        )
    )


def _article(url: str, when: datetime) -> Outcome:
    article = Article(
        source_id="caliber-az",
        url=url,
        title="Bridge over the Kura reopens",
        text="The bridge over the Kura river reopened on Monday after repairs.",
        language="en",
        fetched_at=when,
        content_hash="h-" + url,
        published_at=when,
        translation=Translation("not_needed"),
    )
    page = f"<html><body><p>{article.text}</p></body></html>"
    return Outcome(FetchAttempt("caliber-az", url, "ok", when, 200, "text/html", page), article)


def _warehouse(path):
    with store.connect(path) as conn:
        store.load_batch(
            conn,
            [
                _listing("https://c/rss", "<rss>old</rss>", LONG_AGO),
                _listing("https://c/rss", "<rss>new</rss>", NOW),
                _article("https://c/en/1", LONG_AGO),
            ],
            run_id="r1",
        )


def test_old_listing_bodies_go_and_article_bodies_stay(tmp_path):
    path = tmp_path / "w.duckdb"
    _warehouse(path)
    with store.connect(path) as conn:
        assert compact_archive(conn, keep_listing_days=30) == (1, 1)
        assert compact_archive(conn, keep_listing_days=30) == (0, 0)  # nothing left to do
        kept = conn.execute(
            "select l.url, l.attempted_at > now() - interval 1 day from fetch_log l "
            "join raw_archive r on r.sha256 = l.raw_sha256 order by 1"
        ).fetchall()
        assert kept == [("https://c/en/1", False), ("https://c/rss", True)]
        assert [p.url for p in archived_pages(conn)] == ["https://c/en/1"]  # reprocess can run
        assert conn.execute("select count(*) from fetch_log").fetchone() == (3,)  # log is kept


@pytest.mark.usefixtures("prefect_api")
def test_the_maintenance_flow_refreshes_search_and_records_its_run(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    monkeypatch.setenv("NEWSFLOW_DB", str(path))
    _warehouse(path)
    done = maintenance(keep_listing_days=30)
    assert done["bodies_dropped"] == 1 and done["bytes_after"] > 0
    with store.connect(path, read_only=True) as conn:
        assert [h.url for h in search(conn, "Kura bridge")] == ["https://c/en/1"]
        assert conn.execute("select flow, fetched from runs").fetchall() == [("maintenance", 0)]
