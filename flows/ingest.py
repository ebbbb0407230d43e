"""The ingest flow: the pipeline core's stream of chunks, one Prefect task per source.

The flow reads: sources -> (discover -> frontier -> chunks) per source -> run report. What it
does is in pipeline/ingest.py (the streams) and pipeline/run.py (the run's lifecycle); here are
only the Prefect parts: tasks named after their source, retries and timeouts, the summary
artifact, the alerts and the final state.
"""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import State

from connectors.config import Source, load_sources, select_sources
from connectors.http import HttpClient
from flows import alerts, artifacts, summary
from flows.runs import current_run
from pipeline.ingest import CHUNK_SIZE, IngestRun, SourceRun, ingest_source
from pipeline.pages import PageProcessor
from pipeline.run import Run
from pipeline.summary import DEFAULT_FAILURE_THRESHOLD, warn_failures
from warehouse.frontier import Refetch
from warehouse.interface import DuckDBWarehouse


# A retry re-runs the source's stream: committed chunks are not fetched again (the frontier
# has them). The timeout bounds a source that hangs despite per-request deadlines; the task is
# async so that Prefect can cancel it there.
@task(
    task_run_name="fetch {source.id}",
    retries=1,
    retry_delay_seconds=10,
    timeout_seconds=3600,
    cache_policy=NO_CACHE,
)
async def fetch_source(source: Source, params: IngestRun, pages: PageProcessor) -> SourceRun:
    """Discover, fetch, process and load one source, chunk by chunk."""
    async with HttpClient() as client:
        return await ingest_source(source, params, DuckDBWarehouse(), client, pages)


class WindowError(ValueError):
    """A backfill window whose first day is after its last."""


def check_window(since: date | None, until: date | None) -> None:
    """Refuse a window that ends before it starts, before any work is done."""
    if since and until and since > until:
        raise WindowError(
            f"since ({since.isoformat()}) is after until ({until.isoformat()}): "
            "the window would be empty"
        )


@flow(name="ingest", log_prints=True)
def ingest(
    sources: list[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    refetch: Refetch | None = None,
    failure_threshold: float = DEFAULT_FAILURE_THRESHOLD,
    chunk_size: int = CHUNK_SIZE,
) -> State:
    """Ingest what the sources list now and the warehouse does not have, or a date window.

    Ends Completed, or "Partial failure" when a source could not be read or more than
    failure_threshold of its URLs failed; the other sources' articles are loaded either way.
    The Args below are what the Prefect UI shows beside each field of the Run form.

    Args:
        sources: Source ids from sources.yaml, e.g. caucasian-knot. Empty means all sources.
        since: First publication day to load (a backfill). Empty: no lower bound.
        until: Last publication day to load, inclusive. Empty: up to today.
        refetch: Fetch again what the revisit policy holds back: "failed" or "all".
        failure_threshold: Share of a source's URLs that may fail before the run is failed.
        chunk_size: URLs fetched, processed and committed together; a crash loses at most three.
    """
    check_window(since, until)
    selected = select_sources(load_sources(), sources)
    run = Run.open(DuckDBWarehouse(), current_run(), selected, since, until, refetch, chunk_size)
    with PageProcessor() as pages:
        futures = [fetch_source.submit(s, run.params, pages) for s in selected]
        for source, future in zip(selected, futures, strict=True):
            try:
                future.result()
            except Exception as exc:  # one source's crash must not stop the others
                run.record_crash(source, exc)
    state = close(run, failure_threshold)
    if run.params.daily:
        alerts.check_volume(run.warehouse, selected, get_run_logger())
        artifacts.publish_daily_digest(get_run_logger())
    return state


def close(run: Run, failure_threshold: float) -> State:
    """Close the run (pipeline.run), then log its failures and publish its summary."""
    closed = run.close(failure_threshold)
    logger = get_run_logger()
    warn_failures(closed.reports, logger)
    alerts.check_walls(closed.reports, logger)
    logger.info("outcomes per source: %s", closed.outcomes)
    summary.publish(closed.reports, closed.title)
    return summary.state_of(closed.verdict)
