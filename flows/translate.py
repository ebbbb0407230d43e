"""The translation backlog as flows: English for the articles stored while their language had
no model (pipeline/backlog.py does the work).

Install a model (`newsflow models install ...`), then run `translate_backlog` (`newsflow
translate` with a Prefect server, or its deployment): every article pending a model that is now
installed is translated in batches, in this one run, with the model loaded once; with
`retranslate` languages also their articles made by another model.

`translate-on-pool` spreads the same batches over the `newsflow` work pool instead: it pages
through the pending articles and starts a `translate-batch/pool` run per batch, `workers` at a
time, that any worker of the pool takes. A batch whose run fails or crashes is started again,
a bounded number of times. Both flows translate and save a batch with `translate_and_save`.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from functools import partial

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.states import Completed, Failed, State

from connectors.config import translation_choice
from flows.runs import finish_run
from pipeline import backlog
from pipeline.progress import Watchers
from processing.models import available_models
from warehouse.interface import DuckDBWarehouse

BATCH_DEPLOYMENT = "translate-batch/pool"

_progress: Watchers[[int, int]] = Watchers()
reporting_progress = _progress.watching  # the CLI's bar, over flows run in this process


# The backlog's two steps as tasks, each batch's in the run's task list
translate_pending = task(backlog.translate_pending, cache_policy=NO_CACHE)
save_translated = task(backlog.save_translated, cache_policy=NO_CACHE)
translate_and_save = partial(
    backlog.translate_and_save, translate=translate_pending, save=save_translated
)


@flow(name="translate_backlog", log_prints=True)
def translate_backlog(
    batch_size: int = 200, retranslate: list[str] | None = None
) -> dict[str, int]:
    """Translate every article pending a model whose language now has one installed.

    Returns how many articles ended in each status (done, failed, not_needed), and with
    `retranslate` how many were re-translated.
    The Args below are what the Prefect UI shows beside each field of the Run form.

    Args:
        batch_size: Articles sent to the model together (and written together).
        retranslate: Languages whose translated articles are translated again where another
            model than the one the language uses now made them (the old one stays in history).
    """
    started = time.monotonic()
    warehouse = DuckDBWarehouse()
    done = backlog.translate_backlog(
        warehouse,
        batch_size,
        retranslate or (),
        translate_and_save,
        _progress.tell,
        get_run_logger(),
    )
    finish_run(warehouse, warehouse.articles_report(done.urls, time.monotonic() - started))
    return dict(done.counts)


@flow(name="translate-batch", log_prints=True)
def translate_batch(urls: list[str]) -> dict[str, int]:
    """One batch of the backlog, on whichever worker of the pool takes it.

    Returns how many of its articles ended in each status; those no longer pending (another
    run or a re-translation did them) are skipped.

    Args:
        urls: The batch's articles, as translate-on-pool paged them.
    """
    batch = DuckDBWarehouse().still_pending(urls)
    choice = translation_choice()
    results = translate_and_save(batch, choice) if batch else []
    counts = Counter(str(t.status) for _, t in results)
    skipped = len(urls) - len(batch)
    get_run_logger().info("batch of %d: %s, %d no longer pending", len(urls), dict(counts), skipped)
    return dict(counts)


@dataclass(frozen=True)
class BatchOutcome:
    """A batch the spread run started: its articles, whether a run completed, failed runs."""

    urls: list[str]
    completed: bool
    failures: list[str]


def _describe(run: FlowRun) -> str:
    state = run.state
    return f"{run.name} ({state.name}: {state.message})" if state else f"{run.name} (no state)"


async def _batch_on_pool(urls: list[str], tries: int, slot: asyncio.Semaphore) -> BatchOutcome:
    """Run a batch on the pool until a run of it completes, at most `tries` runs; frees its slot."""
    failures: list[str] = []
    try:
        for _ in range(tries):
            run = await run_deployment(BATCH_DEPLOYMENT, parameters={"urls": urls}, poll_interval=2)
            if run.state is not None and run.state.is_completed():
                return BatchOutcome(urls, True, failures)
            failures.append(_describe(run))
            get_run_logger().warning("batch run did not complete: %s", failures[-1])
        return BatchOutcome(urls, False, failures)
    finally:
        slot.release()


@flow(name="translate-on-pool", log_prints=True)
async def translate_on_pool(
    workers: int = 2, batch_size: int = 200, languages: list[str] | None = None, tries: int = 3
) -> State:
    """The translation backlog, its batches spread over runs on the newsflow work pool.

    Completed when every batch was translated; Failed, naming what stayed untranslated and
    why, when a batch's runs all failed (a worker without the model, a crash).

    Args:
        workers: Batch runs in flight at once.
        batch_size: Articles per batch run (sent to the model together and saved together).
        languages: Languages to translate. Empty: those with a model where this run runs.
        tries: Runs a batch gets (a failed or crashed one is started again) before it stays.
    """
    started = time.monotonic()
    logger = get_run_logger()
    languages = sorted(languages or await asyncio.to_thread(available_models, translation_choice()))
    if not languages:
        logger.info("no translation model is installed here and no language was given")
    warehouse = DuckDBWarehouse()
    slots = asyncio.Semaphore(workers)
    batches: list[asyncio.Task[BatchOutcome]] = []
    after = ""
    while languages:
        await slots.acquire()
        page = await asyncio.to_thread(warehouse.pending_articles, languages, after, batch_size)
        if not page:
            slots.release()
            break
        after = page[-1].url
        urls = [article.url for article in page]
        batches.append(asyncio.create_task(_batch_on_pool(urls, tries, slots)))
    outcomes = await asyncio.gather(*batches)
    return await asyncio.to_thread(_close_spread, warehouse, outcomes, time.monotonic() - started)


def _close_spread(
    warehouse: DuckDBWarehouse, outcomes: list[BatchOutcome], seconds: float
) -> State:
    """Record the spread run in `runs` and its summary; its state says what stayed pending."""
    given_up = [o for o in outcomes if not o.completed]
    left = {a.url for a in warehouse.still_pending([u for o in given_up for u in o.urls])}
    done = [url for o in outcomes for url in o.urls if url not in left]
    state: State = Completed(message=f"{len(done)} articles in {len(outcomes)} batches")
    if left:
        why = "; ".join(o.failures[-1] for o in given_up)
        state = Failed(
            message=f"{len(left)} articles stayed untranslated: {len(given_up)} of "
            f"{len(outcomes)} batches failed every run; last: {why}"
        )
    finish_run(warehouse, warehouse.articles_report(done, seconds), state.name)
    get_run_logger().info("%s: %s", state.name, state.message)
    return state
