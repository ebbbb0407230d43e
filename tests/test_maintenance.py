"""Maintenance keeps the file lean without losing what reprocessing needs."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.config import Revisit, load_sources, select_sources
from connectors.records import FetchAttempt, Link, ListingOutcome, Outcome
from flows.maintenance import maintenance
from processing.page import process_page
from processing.records import Translation, UrlResult
from warehouse import loads, store
from warehouse.archive import archived_urls
from warehouse.loads import RunKey
from warehouse.maintenance import maintain
from warehouse.search import search

NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=90)
ARTICLE = "https://c/en/1"
[CALIBER] = select_sources(load_sources(), ["caliber-az"])


def _listing(body: str, when: datetime) -> FetchAttempt:
    """The source's feed as discovery read it, body included."""
    return FetchAttempt(
        "caliber-az",
        "https://c/rss",
        ListingOutcome.LISTED,
        when,
        200,
        "application/rss+xml",
        body,
        kind="listing",
    )


def _article(when: datetime) -> UrlResult:
    """The listed article, fetched and processed as ingest does it."""
    text = "The bridge over the Kura river reopened on Monday after repairs."
    title = "Bridge over the Kura reopens"
    page = f"<html><head><title>{title}</title></head><body><p>{text}</p></body></html>"
    attempt = FetchAttempt("caliber-az", ARTICLE, Outcome.OK, when, 200, "text/html", page)
    article = process_page(CALIBER, ARTICLE, page, "text/html", when).article
    assert article is not None
    return UrlResult(
        attempt, replace(article, translation=Translation("not_needed", title, article.text))
    )


def _warehouse(path):
    """A feed read three months ago and today, and the article it listed then."""
    run, links = RunKey("r1"), [Link("caliber-az", ARTICLE)]
    feed = f"<rss><channel><item><link>{ARTICLE}</link></item></channel></rss>"
    with store.connect(path) as conn:
        loads.record_listings(conn, run, [_listing(feed, LONG_AGO)], links, LONG_AGO)
        loads.commit_chunk(conn, run, [_article(LONG_AGO)], lambda _: Revisit(), LONG_AGO)
        loads.record_listings(conn, run, [_listing(feed + "<!-- new -->", NOW)], links, NOW)


def test_old_listing_bodies_go_and_article_bodies_stay(tmp_path):
    path = tmp_path / "w.duckdb"
    _warehouse(path)
    first, again = maintain(30, path), maintain(30, path)
    assert (first.listing_bodies_released, first.bodies_dropped) == (1, 1)
    assert (again.listing_bodies_released, again.bodies_dropped) == (0, 0)  # nothing left to do
    with store.connect(path) as conn:
        kept = conn.execute(
            "select l.url, l.attempted_at > now() - interval 1 day from fetch_log l "
            "join raw_archive r on r.sha256 = l.raw_sha256 order by 1"
        ).fetchall()
        assert kept == [("https://c/en/1", False), ("https://c/rss", True)]
        assert archived_urls(conn) == ["https://c/en/1"]  # reprocess can run
        assert conn.execute("select count(*) from fetch_log").fetchone() == (3,)  # log is kept


def test_old_listing_bodies_leave_the_disk_and_so_do_files_of_lost_commits(tmp_path):
    path = tmp_path / "w.duckdb"
    _warehouse(path)
    root = tmp_path / "w.archive"

    def files() -> set[str]:
        return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}

    before = files()
    # what a crash leaves: bodies written for a commit that never landed, half-written ones,
    # as packs and as the files a body that came before them
    day = root / "packs" / "2026-01-01"
    day.mkdir(parents=True)
    lost_pack, half_pack = day / f"{'a' * 32}.pack", day / f"{'b' * 32}.pack"
    lost, half = root / "ab" / "cd" / f"{'ab' * 32}.zst", root / "ab" / "cd" / "ef.zst.7.partial"
    lost.parent.mkdir(parents=True, exist_ok=True)
    for made in (lost, half, lost_pack, half_pack):
        made.write_bytes(b"lost")
        os.utime(made, (0, 0))
    os.utime(day, (0, 0))
    in_flight = root / "ab" / "ce" / f"{'ac' * 32}.zst"  # a commit under way: young, kept
    in_flight_pack = root / "packs" / "2026-12-31" / f"{'c' * 32}.pack"
    for made in (in_flight, in_flight_pack):
        made.parent.mkdir(parents=True, exist_ok=True)
        made.write_bytes(b"new")
    done = maintain(30, path)
    assert (done.listing_bodies_released, done.bodies_dropped) == (1, 1)
    with store.connect(path) as conn:
        kept = {r[0] for r in conn.execute("select pack from raw_archive").fetchall()}
    assert len(before) == 3 and kept < before  # the old feed's pack is gone from the disk too
    young = {p.relative_to(root).as_posix() for p in (in_flight, in_flight_pack)}
    assert files() == kept | young
    assert not day.exists()  # an old day's folder left empty goes too


@pytest.mark.usefixtures("prefect_api")
def test_the_maintenance_flow_refreshes_search_and_records_its_run(
    tmp_path, monkeypatch, configure
):
    path = tmp_path / "w.duckdb"
    configure(db=Path(path))
    _warehouse(path)
    done = maintenance(keep_listing_days=30)
    assert done["bodies_dropped"] == 1 and done["bytes_after"] > 0
    with store.connect(path, read_only=True) as conn:
        assert [h.url for h in search(conn, "Kura bridge")] == ["https://c/en/1"]
        assert conn.execute("select flow, fetched from runs").fetchall() == [("maintenance", 0)]
