"""Reprocess: the raw archive through the same page path as ingest, with no network.

A new cleanup rule, a better language prior or a newly installed model can so be applied to
stored articles. Their stored identity (URL) stays; translations come from the cache where the
same text was translated before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from connectors.config import Source, load_sources
from pipeline.ingest import CHUNK_SIZE
from pipeline.pages import PageProcessor
from processing.records import Article
from processing.translate import translate_articles
from warehouse.archive import ArchivedPage
from warehouse.interface import Warehouse, WarehouseCache

log = logging.getLogger("newsflow.reprocess")


@dataclass(frozen=True)
class Reprocessed:
    """What a reprocess did: archived articles chosen, how many changed, the URLs made afresh."""

    chosen: int
    updated: int
    urls: list[str]


def reprocess_stored(
    warehouse: Warehouse,
    urls: list[str] | None = None,
    source: str | None = None,
    fetched_since: date | None = None,
    fetched_until: date | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Reprocessed:
    """The stored articles these filters choose (none: all), again through the page path from
    their archived pages: what the reprocess flow and `newsflow reprocess` run."""
    chosen = warehouse.archived_urls(urls or None, source, fetched_since, fetched_until)
    sources = {s.id: s for s in load_sources()}
    with PageProcessor() as processor:
        updated, done = asyncio.run(
            reprocess_archive(chosen, sources, warehouse, processor, chunk_size)
        )
    return Reprocessed(len(chosen), updated, done)


async def reprocess_archive(
    urls: Sequence[str],
    sources: Mapping[str, Source],
    warehouse: Warehouse,
    processor: PageProcessor,
    chunk_size: int = CHUNK_SIZE,
) -> tuple[int, list[str]]:
    """Reprocess these archived articles a chunk at a time, each chunk read, processed and
    replaced before the next is read: memory is bounded by the chunk, not by the archive.

    Returns how many stored articles changed and the URLs made afresh.
    """
    updated, done = 0, []
    for start in range(0, len(urls), chunk_size):
        pages = await asyncio.to_thread(warehouse.archived_pages, urls[start : start + chunk_size])
        articles = await reprocess_pages(pages, sources, warehouse, processor)
        updated += await asyncio.to_thread(warehouse.replace_articles, articles)
        done += [a.url for a in articles]
    return updated, done


async def reprocess_pages(
    pages: list[ArchivedPage],
    sources: Mapping[str, Source],
    warehouse: Warehouse,
    processor: PageProcessor,
) -> list[Article]:
    """Articles made afresh from archived pages; a page that no longer extracts is kept as is."""
    articles: list[Article] = []
    for source_id in sorted({p.source_id for p in pages}):
        mine = [p for p in pages if p.source_id == source_id]
        if source_id not in sources:
            log.warning(
                "%d archived pages of %s: source no longer configured", len(mine), source_id
            )
            continue
        results = await processor.process(
            # no listing date or charset here: replace_articles keeps the stored ones
            sources[source_id],
            [(p.url, p.html, None, p.fetched_at, None, None, None) for p in mine],
        )
        for page, result in zip(mine, results, strict=True):
            if result.article is None:
                log.warning("%s: kept as stored, no longer extracts: %s", page.url, result.error)
                continue
            articles.append(replace(result.article, url=page.url))  # the stored identity stays
    choice = {language: name for s in sources.values() for language, name in s.translation}
    translations = translate_articles(
        [(a.language, a.title, a.text) for a in articles], WarehouseCache(warehouse), choice
    )
    return [
        replace(article, translation=translation)
        for article, translation in zip(articles, translations, strict=True)
    ]
