"""Page processing off the event loop: a process pool, so extraction uses every core.

Extraction and language detection are CPU-bound pure functions (processing.page); run in the
event loop they would stall fetching, and in threads they would share one core. Small batches
stay in a thread: starting worker processes costs more than they would save.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime

from connectors.config import Source
from connectors.records import Charset
from processing.page import PageResult, process_page

INLINE_PAGES = 16  # fewer pages than this are processed in a thread of this process
BATCH_PAGES = 8  # pages sent to a worker process at a time
WORKERS_ENV = "NEWSFLOW_WORKERS"  # processes for page work; 0 or 1: none, all in-process

# url, body, content type, fetch time, final URL, listing's date, charset (see process_page)
PageInput = tuple[str, str, str | None, datetime, str | None, datetime | None, Charset | None]


def process_pages(source: Source, pages: Sequence[PageInput]) -> list[PageResult]:
    """process_page over a batch: the unit of work sent to a worker process."""
    return [process_page(source, *page) for page in pages]


class PageProcessor:
    """Processes batches of pages in worker processes (started on first need), in order."""

    def __init__(self, workers: int | None = None) -> None:
        configured = os.environ.get(WORKERS_ENV)
        default = int(configured) if configured else (os.cpu_count() or 1)
        self.workers = default if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None

    async def process(self, source: Source, pages: Sequence[PageInput]) -> list[PageResult]:
        """Results for the pages in their order; big batches are spread over the workers."""
        if self.workers <= 1 or len(pages) < INLINE_PAGES:
            return await asyncio.to_thread(process_pages, source, pages)
        loop = asyncio.get_running_loop()
        pool = self._start()
        # Small batches, so one slow page does not leave the other workers idle.
        size = BATCH_PAGES
        parts = [pages[i : i + size] for i in range(0, len(pages), size)]
        done = await asyncio.gather(
            *(loop.run_in_executor(pool, process_pages, source, part) for part in parts)
        )
        return [result for part in done for result in part]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> PageProcessor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the parent runs threads (Prefect, the event loop, DuckDB)
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._pool
