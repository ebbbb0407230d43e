"""The reprocess flow: stored articles again through the page path, from the raw archive."""

from __future__ import annotations

import asyncio
import time
from datetime import date

from prefect import flow, get_run_logger

from connectors.config import load_sources
from flows.runs import finish_run
from pipeline.ingest import CHUNK_SIZE
from pipeline.pages import PageProcessor
from pipeline.reprocess import reprocess_archive
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
    chosen = warehouse.archived_urls(urls or None, source, fetched_since, fetched_until)
    sources = {s.id: s for s in load_sources()}
    with PageProcessor() as processor:
        updated, done = asyncio.run(
            reprocess_archive(chosen, sources, warehouse, processor, chunk_size)
        )
    finish_run(warehouse, warehouse.articles_report(done, time.monotonic() - started))
    get_run_logger().info("reprocessed %d of %d archived articles", updated, len(chosen))
    return updated
