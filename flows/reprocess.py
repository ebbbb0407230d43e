"""The reprocess flow: stored articles again through the page path, from the raw archive."""

from __future__ import annotations

import time
from datetime import date

from prefect import flow, get_run_logger

from flows.runs import finish_run
from pipeline.ingest import CHUNK_SIZE
from pipeline.reprocess import reprocess_stored
from warehouse.interface import DuckDBWarehouse


@flow(name="reprocess", log_prints=True)
def reprocess(
    urls: list[str] | None = None,
    source: str | None = None,
    fetched_since: date | None = None,
    fetched_until: date | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> int:
    """Re-extract, re-detect and re-translate chosen stored articles; returns how many changed.

    Args:
        urls: Article URLs as stored. Empty: every article matching the other filters.
        source: Only this source id.
        fetched_since: Only articles fetched on or after this day.
        fetched_until: Only articles fetched on or before this day.
        chunk_size: Articles read from the archive and replaced together.
    """
    started = time.monotonic()
    warehouse = DuckDBWarehouse()
    done = reprocess_stored(warehouse, urls, source, fetched_since, fetched_until, chunk_size)
    finish_run(warehouse, warehouse.articles_report(done.urls, time.monotonic() - started))
    get_run_logger().info("reprocessed %d of %d archived articles", done.updated, done.chosen)
    return done.updated
