"""What the warehouse remembers between runs: listing validators and cursors per source, and
when each URL that failed is due again (the frontier's revisit policy)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from connectors.config import Revisit, load_sources, select_sources
from connectors.discovery import discover
from connectors.http import HttpClient
from connectors.records import FetchAttempt, Link, Outcome, Validators
from processing.page import process_page
from processing.records import UrlResult
from warehouse import frontier, loads, state, store
from warehouse.frontier import Claimed, lease_owner
from warehouse.loads import RunKey

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


POLICY = Revisit()  # the defaults: what a source gets when sources.yaml says nothing


def _due(conn, now: datetime) -> list[Claimed]:
    """What a run starting at `now` leases of source "s"."""
    return frontier.claim(conn, "s", lease_owner("test"), 10, now, now)


def _fail(conn, claimed: list[Claimed], outcome: Outcome, status: int | None, now: datetime):
    """Record that every claimed URL failed the same way, as a chunk of a run does."""
    results = [
        UrlResult(FetchAttempt("s", c.link.url, outcome, now, status, error="x"), None, c.failures)
        for c in claimed
    ]
    loads.commit_chunk(conn, RunKey("r"), results, lambda _: POLICY, now)


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (Outcome.HTTP_ERROR, 503),
        (Outcome.HTTP_ERROR, 429),
        (Outcome.TIMEOUT, None),
        (Outcome.NETWORK_ERROR, None),
        (Outcome.TRUNCATED, None),
    ],
)
def test_a_passing_failure_is_retried_after_each_back_off_then_given_up(conn, outcome, status):
    loads.record_listings(conn, RunKey("r"), [], [Link("s", "http://x/a")], NOW)
    now = NOW
    for hours in POLICY.transient_backoff_hours:
        claimed = _due(conn, now)
        assert [c.link.url for c in claimed] == ["http://x/a"]
        _fail(conn, claimed, outcome, status, now)
        assert _due(conn, now + timedelta(hours=hours) - timedelta(minutes=1)) == []
        now += timedelta(hours=hours)
    _fail(conn, _due(conn, now), outcome, status, now)  # the last try
    assert _due(conn, now + timedelta(days=3650)) == []
    attempts = len(POLICY.transient_backoff_hours) + 1
    assert frontier.failures(conn, "s") == [
        ("s", "http://x/a", str(outcome), status, "x", attempts, None)
    ]


@pytest.mark.parametrize(
    ("outcome", "status"),
    [(Outcome.HTTP_ERROR, 404), (Outcome.HTTP_ERROR, 410), (Outcome.NOT_HTML, 200)],
)
def test_a_lasting_failure_is_retried_after_a_long_interval_a_few_times(conn, outcome, status):
    loads.record_listings(conn, RunKey("r"), [], [Link("s", "http://x/gone")], NOW)
    now = NOW
    for _ in range(POLICY.permanent_attempts):
        claimed = _due(conn, now)
        assert [c.link.url for c in claimed] == ["http://x/gone"]
        _fail(conn, claimed, outcome, status, now)
        assert _due(conn, now + timedelta(days=POLICY.permanent_days - 1)) == []
        now += timedelta(days=POLICY.permanent_days)
    assert _due(conn, now + timedelta(days=3650)) == []
    count = conn.execute("select count(*) from fetch_log where url = 'http://x/gone'").fetchone()
    assert count == (POLICY.permanent_attempts,)


def test_a_url_that_succeeds_on_a_retry_is_never_due_again(conn):
    loads.record_listings(conn, RunKey("r"), [], [Link("s", "http://x/a")], NOW)
    _fail(conn, _due(conn, NOW), Outcome.HTTP_ERROR, 503, NOW)
    later = NOW + timedelta(hours=POLICY.transient_backoff_hours[0])
    [claimed] = _due(conn, later)
    assert claimed.failures == 1
    text = "The bridge over the river reopened on Monday after three weeks of repairs."
    page = f"<html><head><title>Bridge</title></head><body><p>{text}</p></body></html>"
    fetched = FetchAttempt("s", "http://x/a", Outcome.OK, later, 200, "text/html", page)
    [source] = select_sources(load_sources(), ["caliber-az"])
    article = process_page(source, fetched.url, page, "text/html", later).article
    assert article is not None
    stored = UrlResult(fetched, replace(article, source_id="s"), claimed.failures)
    loads.commit_chunk(conn, RunKey("r2"), [stored], lambda _: POLICY, later)
    assert _due(conn, later + timedelta(days=3650)) == []
    assert frontier.failures(conn, "s") == []


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
