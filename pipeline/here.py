"""Runs in this process, without Prefect: what `newsflow ingest`, `translate`, `reprocess` and
`maintenance` do when no Prefect server is configured or running.

The same pipeline code as the flows (for ingest the same lifecycle, pipeline/run.py, and
per-source streams), and the run is recorded in the warehouse's `runs` (and `fetch_log`) as a
flow run would be. What only Prefect gives is left out: task retries, the summary artifact,
alert events (the run's row and the warnings on stderr say the same), and the UI.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from uuid import uuid4

from connectors.config import Source
from connectors.http import HttpClient
from pipeline.backlog import Backlog, Progress, translate_backlog
from pipeline.ingest import CHUNK_SIZE, SourceRun, ingest_source, utc_now
from pipeline.ingest import logger as progress
from pipeline.maintenance import Upkeep, upkeep
from pipeline.pages import PageProcessor
from pipeline.reprocess import Reprocessed, reprocess_stored
from pipeline.run import Closed, Run
from pipeline.summary import DEFAULT_FAILURE_THRESHOLD, warn_failures
from warehouse.frontier import Refetch
from warehouse.interface import Warehouse
from warehouse.store import RunRecord

log = logging.getLogger("newsflow.ingest")


def ingest_here(
    warehouse: Warehouse,
    sources: Sequence[Source],
    everything: bool,
    since: date | None = None,
    until: date | None = None,
    refetch: Refetch | None = None,
    failure_threshold: float = DEFAULT_FAILURE_THRESHOLD,
    chunk_size: int = CHUNK_SIZE,
    budget: int | None = None,
) -> Closed:
    """Open the run, stream every source, close it with its verdict; `everything` says the
    user named no source (recorded as the flow records it: sources null)."""
    now = utc_now()
    parameters: dict[str, object] = {
        "sources": None if everything else [s.id for s in sources],
        "since": since,
        "until": until,
        "refetch": refetch,
        "failure_threshold": failure_threshold,
        "chunk_size": chunk_size,
        "budget": budget,
    }
    record = _record("ingest", parameters, now)
    run = Run.open(warehouse, record, sources, since, until, refetch, chunk_size, budget)
    progress.info("run %s opened in the warehouse", record.run_id)
    for source, outcome in zip(sources, asyncio.run(_streams(run)), strict=True):
        if isinstance(outcome, BaseException):
            run.record_crash(source, outcome)
        elif not run.params.daily:
            coverage = warehouse.window_coverage(source.id, since, until)
            progress.info(outcome.window_done(run.params, *coverage))
    closed = run.close(failure_threshold)
    warn_failures(closed.reports, log)
    return closed


async def _streams(run: Run) -> list[SourceRun | BaseException]:
    """Every source's stream at once, as the flow's tasks run; a crash stays its source's."""
    with PageProcessor() as pages:
        async with HttpClient() as client:
            return await asyncio.gather(
                *(ingest_source(s, run.params, run.warehouse, client, pages) for s in run.sources),
                return_exceptions=True,
            )


def translate_here(
    warehouse: Warehouse,
    batch_size: int,
    retranslate: Sequence[str] = (),
    progress: Progress | None = None,
) -> Backlog:
    """The translation backlog (pipeline/backlog.py), recorded as a translate_backlog run."""
    started = utc_now()
    done = translate_backlog(warehouse, batch_size, retranslate, progress=progress)
    parameters = {"batch_size": batch_size, "retranslate": list(retranslate)}
    _finish(warehouse, "translate_backlog", parameters, started, done.urls)
    return done


def reprocess_here(
    warehouse: Warehouse,
    urls: list[str] | None,
    source: str | None,
    fetched_since: date | None,
    fetched_until: date | None,
    chunk_size: int,
) -> Reprocessed:
    """Stored articles again from the archive (pipeline/reprocess.py), recorded as a reprocess
    run."""
    started = utc_now()
    done = reprocess_stored(warehouse, urls, source, fetched_since, fetched_until, chunk_size)
    parameters = {
        "urls": urls,
        "source": source,
        "fetched_since": fetched_since,
        "fetched_until": fetched_until,
        "chunk_size": chunk_size,
    }
    _finish(warehouse, "reprocess", parameters, started, done.urls)
    return done


def maintain_here(warehouse: Warehouse, keep_listing_days: int) -> Upkeep:
    """Compaction and canaries (pipeline/maintenance.py), recorded as a maintenance run."""
    started = utc_now()
    done = upkeep(warehouse, keep_listing_days)
    record = _record("maintenance", {"keep_listing_days": keep_listing_days}, started)
    warehouse.record_run(record, [], "Completed")
    return done


def _record(flow: str, parameters: Mapping[str, object], started: datetime) -> RunRecord:
    """This process's run as `runs` keeps a flow run's try: a fresh id, the first try."""
    return RunRecord(uuid4().hex, 1, flow, started, utc_now(), dict(parameters))


def _finish(
    warehouse: Warehouse,
    flow: str,
    parameters: Mapping[str, object],
    started: datetime,
    urls: list[str],
) -> None:
    """Record a run over stored articles with their figures, as the flows' finish_run does."""
    seconds = (utc_now() - started).total_seconds()
    reports = warehouse.articles_report(urls, seconds)
    warehouse.record_run(_record(flow, parameters, started), reports, "Completed")
