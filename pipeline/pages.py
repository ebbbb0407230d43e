"""Page processing off the event loop: a process pool, so extraction uses every core.

Extraction and language detection are CPU-bound pure functions (processing.page); run in the
event loop they would stall fetching, and in threads they would share one core. Small batches
stay in a thread: starting worker processes costs more than they would save.

A worker process that dies (the OOM killer, a crash in a C library on a hostile page) breaks
the whole pool. The chunk's pages are then processed again one at a time on a fresh pool: a
page that kills its worker alone is recorded as crashed, the others are processed, and nothing
is fetched again. Without this, one such page failed its chunk in every run, for ever.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from connectors.config import Source
from connectors.records import Charset, Outcome
from core.settings import current as current_settings
from processing import fast_xpaths
from processing.page import PageResult, process_page

INLINE_PAGES = 16  # fewer pages than this are processed in a thread of this process
BATCH_PAGES = 8  # pages sent to a worker process at a time
WORKER_DIED = "its page worker process died processing it (killed, out of memory or crashed)"

log = logging.getLogger("newsflow.pages")

# url, body, content type, fetch time, final URL, listing's date, charset (see process_page)
PageInput = tuple[str, str, str | None, datetime, str | None, datetime | None, Charset | None]


def process_pages(source: Source, pages: Sequence[PageInput]) -> list[PageResult]:
    """process_page over a batch: the unit of work sent to a worker process."""
    return [process_page(source, *page) for page in pages]


class PageProcessor:
    """Processes batches of pages in worker processes (started on first need), in order."""

    def __init__(self, workers: int | None = None) -> None:
        configured = current_settings().workers  # 0 or 1: none, all in-process
        default = configured if configured is not None else (os.cpu_count() or 1)
        self.workers = default if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None
        fast_xpaths.install()  # for the pages processed in this process (small batches)

    async def process(self, source: Source, pages: Sequence[PageInput]) -> list[PageResult]:
        """Results for the pages in their order; big batches are spread over the workers."""
        if self.workers <= 1 or len(pages) < INLINE_PAGES:
            return await asyncio.to_thread(process_pages, source, pages)
        try:
            return await self._spread(source, pages)
        except BrokenProcessPool:
            self.close(wait=False)
            log.warning(
                "a page worker died (killed, out of memory or crashed): %d pages of %s are "
                "processed again one at a time",
                len(pages),
                source.id,
            )
            return [await self._alone(source, page) for page in pages]

    async def _spread(self, source: Source, pages: Sequence[PageInput]) -> list[PageResult]:
        loop = asyncio.get_running_loop()
        pool = self._start()
        # Small batches, so one slow page does not leave the other workers idle.
        size = BATCH_PAGES
        parts = [pages[i : i + size] for i in range(0, len(pages), size)]
        done = await asyncio.gather(
            *(loop.run_in_executor(pool, process_pages, source, part) for part in parts)
        )
        return [result for part in done for result in part]

    async def _alone(self, source: Source, page: PageInput) -> PageResult:
        """One page in a worker of its own turn: if the worker dies, the page is to blame."""
        loop = asyncio.get_running_loop()
        try:
            [result] = await loop.run_in_executor(self._start(), process_pages, source, [page])
        except BrokenProcessPool:
            self.close(wait=False)
            log.warning("page %s: %s", page[0], WORKER_DIED)
            return PageResult(Outcome.CRASHED, error=WORKER_DIED)
        return result

    def close(self, wait: bool = True) -> None:
        """Stop the pool; the next need starts one. A broken pool is not waited for."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> PageProcessor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the parent runs threads (Prefect, the event loop, DuckDB)
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=fast_xpaths.install
            )
        return self._pool
