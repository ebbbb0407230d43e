"""What connectors remember between daily runs, kept in the warehouse."""

from datetime import UTC, datetime

import pytest

from connectors.config import load_sources, select_sources
from connectors.discovery import discover
from connectors.http import HttpClient
from connectors.records import FetchAttempt, Link, Validators
from processing.records import Outcome
from warehouse import state, store

NOW = datetime(2025, 10, 8, tzinfo=UTC)


@pytest.fixture
def conn(tmp_path):
    with store.connect(tmp_path / "w.duckdb") as connection:
        yield connection


def test_validators_of_read_listings_are_kept_per_source(conn):
    listed = FetchAttempt("s", "http://x/feed", "listed", NOW, 200, validators=Validators('"a"'))
    unchanged = FetchAttempt("s", "http://x/other", "not_modified", NOW, 304)
    state.save_validators(conn, [listed, unchanged])
    state.save_validators(conn, [FetchAttempt("s", "http://x/feed", "listed", NOW, 200)])
    assert state.validators(conn, "s") == {"http://x/feed": Validators('"a"')}
    assert state.validators(conn, "t") == {}


def test_the_cursor_only_moves_forward(conn):
    newer, older = datetime(2025, 10, 6, tzinfo=UTC), datetime(2025, 10, 1, tzinfo=UTC)
    state.advance_cursor(conn, "s", [Link("s", "a", published_at=newer), Link("s", "b")])
    state.advance_cursor(conn, "s", [Link("s", "c", published_at=older)])
    assert state.cursor(conn, "s") == newer
    assert state.cursor(conn, "t") is None


def test_passing_failures_are_retried_a_few_times_then_left(conn):
    def log(url: str, outcome: str, status: int | None = None) -> None:
        attempt = FetchAttempt("s", url, outcome, NOW, status, error="x")
        store.load_batch(conn, [Outcome(attempt)], run_id="r")

    log("http://x/500", "http_error", 500)
    log("http://x/404", "http_error", 404)
    log("http://x/slow", "timeout")
    log("http://x/pdf", "not_html", 200)
    for _ in range(state.RETRY_LIMIT):
        log("http://x/down", "network_error")
    assert [link.url for link in state.links_to_retry(conn, "s")] == [
        "http://x/500",
        "http://x/slow",
    ]
    log("http://x/slow", "skipped")  # a later run settled it
    assert [link.url for link in state.links_to_retry(conn, "s")] == ["http://x/500"]


@pytest.mark.anyio
async def test_json_paging_stops_at_the_cursor(site):
    [toutiao] = select_sources(
        load_sources(base_url_override=site.base_url, politeness_overrides={"delay_seconds": 0}),
        ["toutiao"],
    )
    before = len(site.requests)
    async with HttpClient() as client:
        recent = await discover(toutiao, client, datetime(2025, 10, 7, tzinfo=UTC))
    api = [r.path for r in site.requests[before:] if "/api/" in r.path]
    assert len(api) == 1 and "max_behot_time" not in api[0]
    assert len(recent.links) == 3  # the first page's items
