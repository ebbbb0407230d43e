"""The run lifecycle without Prefect: open, a source's stream, a crash, close with a verdict.

What the flows (single process and pool) and a Prefect-free command line share: the fixture
site over HTTP, a real DuckDB file, no Prefect API.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.config import load_sources, select_sources
from connectors.http import HttpClient
from pipeline.ingest import ingest_source
from pipeline.pages import PageProcessor
from pipeline.run import Run
from pipeline.summary import FAILED
from warehouse import store
from warehouse.interface import DuckDBWarehouse
from warehouse.store import RunRecord

FAST = {"timeout_seconds": 1.5, "retries": 1, "backoff_seconds": 0.1, "delay_seconds": 0}


def _record(run_id: str) -> RunRecord:
    now = datetime.now(UTC)
    return RunRecord(run_id, 1, "ingest", now, now, {"sources": ["caliber-az", "toutiao"]})


def _runs(path: Path) -> list[tuple]:
    with store.connect(path, read_only=True) as conn:
        return conn.execute(
            "SELECT run_id, state, fetched, new FROM runs ORDER BY run_id"
        ).fetchall()


@pytest.fixture
def sources(site):
    everything = load_sources(base_url_override=site.base_url, politeness_overrides=FAST)
    return select_sources(everything, ["caliber-az", "toutiao"])


async def _stream(run: Run) -> None:
    """The caliber-az stream as a flow's task runs it; toutiao's crashes before it starts."""
    caliber, toutiao = run.sources
    with PageProcessor(workers=0) as pages:
        async with HttpClient() as client:
            await ingest_source(caliber, run.params, run.warehouse, client, pages)
    run.record_crash(toutiao, RuntimeError("disk full"))


def test_a_run_opens_streams_records_a_crash_and_closes_with_its_verdict(sources, tmp_path):
    path = tmp_path / "w.duckdb"
    run = Run.open(DuckDBWarehouse(path), _record("r1"), sources)
    assert _runs(path) == [("r1", "Running", 0, 0)]
    asyncio.run(_stream(run))
    closed = run.close(failure_threshold=1.0)

    assert closed.verdict.name == FAILED and not closed.verdict.completed
    assert (
        closed.verdict.message == "sources failed: toutiao: source failed: RuntimeError: disk full"
    )
    caliber = next(r for r in closed.reports if r.source_id == "caliber-az")
    assert caliber.new > 0
    assert closed.outcomes["toutiao"] == {"crashed": 1}
    assert closed.outcomes["caliber-az"]["stored"] == caliber.new
    [(run_id, state, fetched, new)] = _runs(path)
    assert (run_id, state) == ("r1", FAILED)
    assert (fetched, new) == (sum(r.fetched for r in closed.reports), caliber.new)
    assert closed.title == "ingest (sources=['caliber-az', 'toutiao'])"


def test_a_run_whose_sources_all_read_completes_with_the_figures(sources, tmp_path):
    path = tmp_path / "w.duckdb"
    run = Run.open(DuckDBWarehouse(path), _record("r2"), sources[:1])

    async def stream() -> None:
        with PageProcessor(workers=0) as pages:
            async with HttpClient() as client:
                await ingest_source(run.sources[0], run.params, run.warehouse, client, pages)

    asyncio.run(stream())
    closed = run.close(failure_threshold=1.0)
    assert closed.verdict.completed
    assert closed.verdict.figures["caliber-az"]["new"] == closed.reports[0].new > 0
    assert _runs(path)[0][1] == "Completed"
