"""The translate_backlog flow: English for the articles stored while their language had no model.

Install a model (`newsflow models install ...`), then run this flow (`newsflow translate`, or the
`translate_backlog` deployment): every article pending a model that is now installed is
translated in batches, with the model loaded once for the whole run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.runs import finish_run
from processing.models import installed_models
from processing.records import Translation
from processing.translate import translate_articles
from warehouse.interface import DuckDBWarehouse, WarehouseCache
from warehouse.translations import PendingArticle

Progress = Callable[[int, int], None]
_listeners: list[Progress] = []


@contextmanager
def reporting_progress(listener: Progress) -> Iterator[None]:
    """Call listener(done, total) after each batch of flows run in this process (the CLI's bar)."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


@task(cache_policy=NO_CACHE)
def translate_pending(batch: list[PendingArticle]) -> list[tuple[str, Translation]]:
    """One model batch for a page of pending articles, cached texts skipped."""
    items = [(a.language, a.title, a.text) for a in batch]
    results = translate_articles(items, WarehouseCache(DuckDBWarehouse()))
    return [(a.url, result) for a, result in zip(batch, results, strict=True)]


@task(cache_policy=NO_CACHE)
def save_translated(results: list[tuple[str, Translation]]) -> None:
    """Write a page of translations and their paragraphs; they are searchable at once."""
    DuckDBWarehouse().save_translations(results)


@flow(name="translate_backlog", log_prints=True)
def translate_backlog(batch_size: int = 200) -> dict[str, int]:
    """Translate every article pending a model whose language now has one installed.

    Returns how many articles ended in each status (done, failed, not_needed).
    The Args below are what the Prefect UI shows beside each field of the Run form.

    Args:
        batch_size: Articles sent to the model together (and written together).
    """
    logger = get_run_logger()
    started = time.monotonic()
    languages = sorted(installed_models())
    warehouse = DuckDBWarehouse()
    total = warehouse.count_pending(languages) if languages else 0
    if languages:
        logger.info("%d pending articles in %s", total, ", ".join(languages))
    else:
        logger.info("no translation model is installed: nothing to translate")
    counts: Counter[str] = Counter()
    done: list[str] = []
    after = ""
    while languages:
        batch = warehouse.pending_articles(languages, after, batch_size)
        if not batch:
            break
        results = translate_pending(batch)
        save_translated(results)
        counts.update(str(t.status) for _, t in results)
        done += [url for url, _ in results]
        after = batch[-1].url
        for listener in _listeners:
            listener(sum(counts.values()), total)
    logger.info("translated backlog: %s", dict(counts))
    finish_run(warehouse, warehouse.articles_report(done, time.monotonic() - started))
    return dict(counts)
