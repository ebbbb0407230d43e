"""Page processing off the event loop: a process pool, so extraction uses every core.

Extraction and language detection are CPU-bound pure functions (processing.page); run in the
event loop they would stall fetching, and in threads they would share one core. Small batches
stay in a thread: starting worker processes costs more than they would save.

A worker process that dies (the OOM killer, a crash in a C library on a hostile page) breaks
the whole pool. The chunk's pages are then processed again one at a time on a fresh pool: a
page that kills its worker alone is recorded as crashed, the others are processed, and nothing
is fetched again. Without this, one such page failed its chunk in every run, for ever.

Each page has a budget (defaults.limits): a worker raises at page_cpu_seconds of CPU and
cannot grow past page_memory_mb (a page processed in this process gets the same CPU budget,
read from its thread's clock), and a batch that overruns its pages' budgets plus a margin
(stuck in C code, where no signal is seen) has its workers killed; its pages are then processed
one at a time, and one that overruns alone ends `too_costly`. Workers die with the process that
started them (a watch on the parent, pipeline.workers), so a killed run leaves none.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import zstandard

from connectors.config import Limits, Source
from connectors.records import Charset, Link, Outcome
from core.settings import current as current_settings
from pipeline import workers as page_workers
from processing import fast_xpaths
from processing.page import OVER_MEMORY, PageResult, process_page

INLINE_PAGES = 16  # fewer pages than this are processed in a thread of this process
BATCH_PAGES = 8  # pages sent to a worker process at a time
WORKER_DIED = "its page worker process died processing it (killed, out of memory or crashed)"
OVER_CPU = "over the page CPU budget (page_cpu_seconds)"
OVERRUN_MARGIN_SECONDS = 10.0  # beyond the pages' CPU budgets before a batch's workers are killed

log = logging.getLogger("newsflow.pages")


@dataclass(frozen=True)
class Packed:
    """A page body as the archive's zstd frame of its UTF-8: about a tenth of the str a chunk
    would otherwise hold until its commit, and what is pickled to the workers."""

    frame: bytes

    def text(self) -> str:
        return zstandard.ZstdDecompressor().decompress(self.frame).decode("utf-8")


# url, body, content type, fetch time, final URL, listing's date, charset, the listed link
# (see process_page)
PageInput = tuple[
    str,
    str | Packed,
    str | None,
    datetime,
    str | None,
    datetime | None,
    Charset | None,
    Link | None,
]


def process_pages(source: Source, pages: Sequence[PageInput]) -> list[PageResult]:
    """process_page over a batch: the unit of work sent to a worker process."""
    return [within_budget(source, page) for page in pages]


def within_budget(source: Source, page: PageInput) -> PageResult:
    """One page under its CPU budget, wherever it is processed: in a worker, a CPU limit of
    the process (SIGXCPU at page_cpu_seconds); in this process (small batches, no workers,
    `newsflow extract`), a watch on its thread's CPU clock. Over it: `too_costly`."""
    budget = (
        page_workers.worker_cpu_limit if page_workers.in_worker else page_workers.thread_cpu_budget
    )
    url, body, *rest = page
    text = body.text() if isinstance(body, Packed) else body
    try:
        with budget(source.limits.page_cpu_seconds):
            return process_page(source, url, text, *rest)
    except page_workers.OverCpu:
        return PageResult(Outcome.TOO_COSTLY, error=OVER_CPU)
    except MemoryError:
        return PageResult(Outcome.TOO_COSTLY, error=OVER_MEMORY)


def orphaned_workers() -> list[int]:
    """Multiprocessing workers (spawned) of this user whose parent is gone: re-parented to
    init, a subreaper or anything that is not Python. Linux /proc; [] elsewhere."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if entry.stat().st_uid != os.getuid():
                continue
            if b"spawn_main" not in (entry / "cmdline").read_bytes():
                continue
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            exe = os.readlink(f"/proc/{parent}/exe") if parent > 1 else ""
        except (OSError, ValueError, IndexError):
            continue
        if not Path(exe).name.startswith("python"):
            found.append(int(entry.name))
    return found


def _overrun_seconds(limits: Limits, pages: int) -> float:
    """How long a batch may take before its workers are killed: every page at its CPU budget."""
    return limits.page_cpu_seconds * pages + OVERRUN_MARGIN_SECONDS


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
        except (BrokenProcessPool, TimeoutError) as exc:
            self._kill()
            why = "overran its budget" if isinstance(exc, TimeoutError) else "died"
            log.warning(
                "a page worker %s (killed, out of memory, crashed or stuck): %d pages of %s "
                "are processed again one at a time",
                why,
                len(pages),
                source.id,
            )
            return [await self._alone(source, page) for page in pages]

    async def _spread(self, source: Source, pages: Sequence[PageInput]) -> list[PageResult]:
        loop = asyncio.get_running_loop()
        pool = self._start(source)
        # Small batches, so one slow page does not leave the other workers idle.
        size = BATCH_PAGES
        parts = [pages[i : i + size] for i in range(0, len(pages), size)]
        rounds = math.ceil(len(parts) / self.workers)
        done = await asyncio.wait_for(
            asyncio.gather(
                *(loop.run_in_executor(pool, process_pages, source, part) for part in parts)
            ),
            _overrun_seconds(source.limits, rounds * size),
        )
        return [result for part in done for result in part]

    async def _alone(self, source: Source, page: PageInput) -> PageResult:
        """One page in a worker of its own turn: if the worker dies, the page is to blame."""
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(self._start(source), process_pages, source, [page])
        try:
            [result] = await asyncio.wait_for(work, _overrun_seconds(source.limits, 1))
        except TimeoutError:
            self._kill()
            log.warning("page %s: %s (its worker was stuck)", page[0], OVER_CPU)
            return PageResult(Outcome.TOO_COSTLY, error=OVER_CPU)
        except BrokenProcessPool:
            self.close(wait=False)
            log.warning("page %s: %s", page[0], WORKER_DIED)
            return PageResult(Outcome.CRASHED, error=WORKER_DIED)
        return result

    def _kill(self) -> None:
        """End the pool now, its workers killed: one may be stuck in C code on a page."""
        if self._pool is not None:
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.kill()
            self.close(wait=False)

    def close(self, wait: bool = True) -> None:
        """Stop the pool; the next need starts one. A broken pool is not waited for."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> PageProcessor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start(self, source: Source) -> ProcessPoolExecutor:
        """The pool, started on first need with the memory budget of the source asking."""
        if self._pool is None:
            if orphans := orphaned_workers():
                log.warning(
                    "worker processes of a dead run are still alive (pids %s): they hold memory "
                    "until they end; a run killed before workers watched their parent left them",
                    ", ".join(map(str, orphans)),
                )
            # spawn, not fork: the parent runs threads (Prefect, the event loop, DuckDB)
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=page_workers.start,
                initargs=(os.getpid(), source.limits.page_memory_mb),
            )
        return self._pool
