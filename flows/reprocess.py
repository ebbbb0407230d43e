"""The reprocess flow: stored articles again through the page path, from the raw archive."""

from __future__ import annotations

import asyncio
import time
from datetime import date

from prefect import flow, get_run_logger

from connectors.config import load_sources
from flows.runs import finish_run
from pipeline.pages import PageProcessor
from pipeline.reprocess import reprocess_pages
from warehouse.interface import DuckDBWarehouse


@flow(name="reprocess", log_prints=True)
def reprocess(
    urls: list[str] | None = None,
    source: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> int:
    """Re-extract, re-detect and re-translate chosen stored articles; returns how many changed.

    Args:
        urls: Article URLs as stored. Empty: every article matching the other filters.
        source: Only this source id.
        since: Only articles fetched on or after this day.
        until: Only articles fetched on or before this day.
    """
    started = time.monotonic()
    warehouse = DuckDBWarehouse()
    pages = warehouse.archived_pages(urls or None, source, since, until)
    sources = {s.id: s for s in load_sources()}
    with PageProcessor() as processor:
        articles = asyncio.run(reprocess_pages(pages, sources, warehouse, processor))
    updated = warehouse.replace_articles(articles)
    urls_done = [a.url for a in articles]
    finish_run(warehouse, warehouse.articles_report(urls_done, time.monotonic() - started))
    get_run_logger().info("reprocessed %d of %d archived articles", updated, len(pages))
    return updated
