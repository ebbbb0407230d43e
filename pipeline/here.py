"""An ingest run in this process, without Prefect: what `newsflow ingest` does when no Prefect
server is configured or running.

The same lifecycle (pipeline/run.py) and per-source streams as the ingest flow, so the run is
recorded in the warehouse's `runs` and `fetch_log` as a flow run would be. What only Prefect
gives is left out: task retries, the summary artifact, alert events (the run's row and the
warnings on stderr say the same), and the UI.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date
from uuid import uuid4

from connectors.config import Source
from connectors.http import HttpClient
from pipeline.ingest import CHUNK_SIZE, SourceRun, ingest_source, utc_now
from pipeline.ingest import logger as progress
from pipeline.pages import PageProcessor
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
    record = RunRecord(uuid4().hex, 1, "ingest", now, now, parameters)
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
