"""A backfill finishes its window: a month whose sitemap lists 3,000 articles, with
max_urls_per_run 1000, is stored whole, in rounds, with progress in URLs and days; with a
budget it stops short, says so, and the same backfill later continues it (300 articles).

A real HTTP site on 127.0.0.1, the real CLI and ingest flow on a temporary Prefect API, a real
DuckDB file.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import duckdb
import pytest
from hostile_site import HostileSite, Request, response

from flows.cli import main

MONTH = (date(2025, 10, 1), date(2025, 10, 31))
WINDOW = ["--since", MONTH[0].isoformat(), "--until", MONTH[1].isoformat()]
pytestmark = pytest.mark.e2e


def _month_of(articles: int) -> Callable[[Request], bytes]:
    """Article pages spread over the month in sitemap order (the first third: 11 days)."""

    def page(request: Request) -> bytes:
        number = int(request.path.rsplit("/", 1)[1])
        return _page(number, MONTH[0] + timedelta(days=number * 31 // articles))

    return page


def _page(number: int, published: date) -> bytes:
    day = published.isoformat()
    return response(
        f'<html><head><title>Harbour bulletin {number}</title><meta property="article:'
        f'published_time" content="{day}T09:00:00+00:00"></head><body><article>'
        f"<h1>Harbour bulletin {number}</h1><p>Bulletin {number}: the harbour master of Baku "
        f"said that berth {number % 11} reopens on {day} after repairs, and that ships bound "
        f"for Aktau should report to gate {number % 7} two hours before they sail.</p>"
        "</article></body></html>"
    )


@pytest.fixture
def harbour(request, tmp_path, monkeypatch):
    """A sitemap source of `articles` articles in October 2025, a third of them per run."""
    articles = request.param
    with HostileSite() as site:
        site.serve_sitemap([f"/bulletin/{n}" for n in range(articles)], _month_of(articles))
        limits = {"max_urls_per_run": articles // 3}
        sources = site.sitemap_sources(tmp_path / "sources.yaml", "harbour", 8, limits=limits)
        monkeypatch.setenv("NEWSFLOW_SOURCES", str(sources))
        monkeypatch.setenv("NEWSFLOW_DB", str(tmp_path / "w.duckdb"))
        yield tmp_path / "w.duckdb"


def _stored(path) -> tuple[int, int]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute("SELECT count(*), count(DISTINCT url) FROM articles").fetchone()


@pytest.mark.parametrize("harbour", [3000], indirect=True)
def test_a_backfill_stores_the_whole_window_in_rounds(prefect_api, harbour, capsys):
    """The issue's case: 3,000 articles in a month, max_urls_per_run 1000."""
    assert main(["ingest", *WINDOW, "--source", "harbour"]) == 0
    out = capsys.readouterr().out
    assert _stored(harbour) == (3000, 3000)
    # progress per round in URLs and publication days, then how much of the window is done
    assert "harbour: backfill round 1: 1000 URLs listed, 2000 more in the listing; " in out
    assert "1000 articles on 11 publication days stored" in out
    assert "harbour: backfill round 2: 2000 URLs listed, 1000 more in the listing; " in out
    assert "harbour: window done, 3000 articles on 31 publication days of " in out


@pytest.mark.parametrize("harbour", [300], indirect=True)
def test_a_backfill_with_a_budget_stops_short_and_the_next_run_continues(
    prefect_api, harbour, capsys
):
    assert main(["ingest", *WINDOW, "--budget", "100"]) == 0
    out = capsys.readouterr().out
    assert _stored(harbour) == (100, 100)
    assert (
        "harbour: window unfinished, 100 articles on 11 publication days of "
        "2025-10-01..2025-10-31 stored; the budget of 100 URLs is spent and 200 listed URLs "
        "wait: run the same backfill to continue"
    ) in out
    assert main(["ingest", *WINDOW]) == 0  # the same backfill, no budget: it goes on
    out = capsys.readouterr().out
    assert "harbour: backfill round 2: 200 URLs listed, 100 more in the listing; " in out
    assert "harbour: window done, 300 articles on 31 publication days" in out
    assert _stored(harbour) == (300, 300)
