"""The translation backlog: English for the articles stored while their language had no model.

Every article pending a model that is now installed is translated in batches, with the model
loaded once; with `retranslate` languages also their articles made by another model than the
one each language uses now (the old translation stays in history). The translate_backlog flow
runs this with its steps as Prefect tasks; `newsflow translate` with no Prefect server runs it
in its own process (pipeline/here.py).
"""

from __future__ import annotations

import logging
import socket
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from connectors.config import translation_choice
from connectors.records import TranslationStatus
from processing.models import available_models
from processing.records import Translation
from processing.translate import translate_articles
from warehouse.interface import DuckDBWarehouse, Warehouse, WarehouseCache
from warehouse.translations import PendingArticle

log = logging.getLogger("newsflow.translate")

Translated = list[tuple[str, Translation]]
Progress = Callable[[int, int], None]  # (articles done, articles pending at the start)
TranslateStep = Callable[[list[PendingArticle], dict[str, str] | None], Translated]
SaveStep = Callable[[Translated, bool], None]


class MissingModel(RuntimeError):
    """This machine has no model for some articles of a batch: it must not save them."""


def translate_pending(
    batch: list[PendingArticle], choice: dict[str, str] | None = None
) -> Translated:
    """One model batch for a page of pending articles, cached texts skipped."""
    items = [(a.language, a.title, a.text) for a in batch]
    results = translate_articles(items, WarehouseCache(DuckDBWarehouse()), choice)
    return [(a.url, result) for a, result in zip(batch, results, strict=True)]


def save_translated(results: Translated, replacing: bool = False) -> None:
    """Write a page of translations and their paragraphs; they are searchable at once."""
    DuckDBWarehouse().save_translations(results, replacing)


def translate_and_save(
    batch: list[PendingArticle],
    choice: dict[str, str] | None = None,
    replacing: bool = False,
    translate: TranslateStep = translate_pending,
    save: SaveStep = save_translated,
) -> Translated:
    """Translate a page of pending articles and save it: the step every backlog run repeats.

    choice: the model per language (sources.yaml); replacing: the articles were translated
    before, by another model (a re-translation); translate and save: the two steps (the flows
    pass them as Prefect tasks).

    Raises MissingModel, saving nothing, when this machine lacks a model some of them need
    (a pool worker without it): the message says which languages and where.
    """
    results = translate(batch, choice)
    missing = Counter(
        article.language
        for article, (_, result) in zip(batch, results, strict=True)
        if result.status == TranslationStatus.PENDING_MODEL
    )
    if missing:
        from argostranslate import settings

        wanted = ", ".join(f"{lang} ({n} articles)" for lang, n in sorted(missing.items()))
        raise MissingModel(
            f"no translation model for {wanted} on worker host {socket.gethostname()} "
            f"(models in {settings.package_data_dir}): install it there (`newsflow models "
            "install LANG`, or --file PATH.argosmodel); nothing of this batch was saved"
        )
    save(results, replacing)
    return results


@dataclass
class Backlog:
    """What a backlog run did: articles per status (and `retranslated`), and which."""

    counts: Counter[str] = field(default_factory=Counter)
    urls: list[str] = field(default_factory=list)


def translate_backlog(
    warehouse: Warehouse,
    batch_size: int,
    retranslate: Sequence[str] = (),
    step: Callable[..., Translated] = translate_and_save,
    progress: Progress | None = None,
    logger: logging.Logger | logging.LoggerAdapter = log,
) -> Backlog:
    """Translate every pending article whose language has a model now, a batch at a time, then
    re-translate the `retranslate` languages' articles made by another model."""
    choice = translation_choice()
    routes = available_models(choice)
    languages = sorted(routes)
    total = warehouse.count_pending(languages) if languages else 0
    if languages:
        logger.info("%d pending articles in %s", total, ", ".join(languages))
    else:
        logger.info("no translation model is installed: nothing to translate")
    done = Backlog()

    def pages(next_page: Callable[[str], list[PendingArticle]]) -> Iterator[list[PendingArticle]]:
        after = ""
        while batch := next_page(after):
            yield batch
            after = batch[-1].url

    for batch in pages(lambda after: warehouse.pending_articles(languages, after, batch_size)):
        results = step(batch, choice)
        done.counts.update(str(t.status) for _, t in results)
        done.urls += [url for url, _ in results]
        if progress is not None:
            progress(sum(done.counts.values()), total)
    again = {code: routes[code].model_id for code in retranslate if code in routes}
    for batch in pages(lambda after: warehouse.retranslatable(again, after, batch_size)):
        results = step(batch, choice, replacing=True)
        done.counts["retranslated"] += sum(t.status == TranslationStatus.DONE for _, t in results)
        done.urls += [url for url, _ in results]
    logger.info("translated backlog: %s", dict(done.counts))
    return done
