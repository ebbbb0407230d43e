"""The ingest flow: the pipeline core's stream of chunks, one Prefect task per source.

The flow reads like the diagram in DESIGN.md: sources -> (discover -> frontier -> chunks) per
source -> run report. Everything it does is in pipeline/ingest.py; here are only the Prefect
parts: tasks named after their source, retries and timeouts, the run's record, its summary
artifact and its final state.
"""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State

from connectors.config import Source, load_sources, select_sources
from connectors.http import HttpClient
from flows import alerts, artifacts, summary
from flows.runs import current_run, run_key
from pipeline.ingest import (
    CHUNK_SIZE,
    IngestRun,
    SourceRun,
    crashed_listing,
    ingest_source,
    utc_now,
)
from pipeline.pages import PageProcessor
from warehouse.frontier import Refetch
from warehouse.interface import DuckDBWarehouse
from warehouse.loads import RunKey


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
    failure_threshold: float = summary.DEFAULT_FAILURE_THRESHOLD,
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
    warehouse = DuckDBWarehouse()
    warehouse.register_sources(selected)
    if dead := warehouse.start_run(current_run(), utc_now()):
        get_run_logger().warning("runs whose process died, now marked Crashed: %s", dead)
    params = IngestRun(run_key(), since, until, refetch, chunk_size)
    crashed: dict[str, str] = {}
    with PageProcessor() as pages:
        futures = [fetch_source.submit(s, params, pages) for s in selected]
        for source, future in zip(selected, futures, strict=True):
            try:
                future.result()
            except Exception as exc:  # one source's crash must not stop the others
                crashed[source.id] = record_crash(warehouse, params.run, source, exc)
    state = close_run(warehouse, params.run, failure_threshold, crashed)
    if params.daily:
        alerts.check_volume(warehouse, selected, get_run_logger())
        artifacts.publish_daily_digest(get_run_logger())
    return state


def record_crash(
    warehouse: DuckDBWarehouse, run: RunKey, source: Source, error: BaseException
) -> str:
    """Log a source whose stream or listing crashed as a whole; its error, for the run's state."""
    failed = crashed_listing(source, error, utc_now())
    try:
        warehouse.record_listings(run, [failed], [], utc_now())
    except Exception:  # a full disk: the run's row still says why
        get_run_logger().exception("could not record the failure of %s", source.id)
    return failed.error or ""


def close_run(
    warehouse: DuckDBWarehouse,
    run: RunKey,
    failure_threshold: float,
    crashed: dict[str, str],
) -> State:
    """Record the run try in `runs`, then log its failures and publish its summary.

    A source whose stream crashed (a bug, a full disk) fails the run whatever the threshold:
    its chunks after the crash were never tried.
    """
    reports = warehouse.run_report(run)
    state = summary.final_state(reports, failure_threshold)
    if crashed:
        reasons = "; ".join(f"{source}: {error}" for source, error in crashed.items())
        state = Failed(message=f"sources failed: {reasons}", data=f"sources failed: {reasons}")
    record = current_run()
    warehouse.record_run(record, reports, state.name)
    logger = get_run_logger()
    summary.warn_failures(reports, logger)
    alerts.check_walls(reports, logger)
    logger.info("outcomes per source: %s", warehouse.run_outcomes(run))
    summary.publish(reports, summary.title(record.flow, record.parameters, run.attempt))
    return state
