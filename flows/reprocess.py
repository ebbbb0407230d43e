"""The reprocess flow: re-extract, re-detect and re-translate stored articles from the archive.

Nothing is fetched: pages come from the raw archive, so a new cleanup rule, a better language
prior or a newly installed model can be applied to articles already in the warehouse.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from connectors.config import load_sources
from flows.runs import finish_run
from processing.article import build_article
from processing.extract import ExtractionError
from processing.records import Article
from processing.translate import translate_articles
from warehouse import clusters, store
from warehouse.archive import ArchivedPage, archived_pages
from warehouse.reports import articles_report


@task(cache_policy=NO_CACHE)
def reprocess_pages(pages: list[ArchivedPage]) -> list[Article]:
    """Articles made afresh from archived pages; a page that no longer extracts is left as is."""
    sources = {s.id: s for s in load_sources()}
    logger = get_run_logger()
    articles = []
    for page in pages:
        if page.source_id not in sources:
            logger.warning("%s: source %s is no longer configured", page.url, page.source_id)
            continue
        try:
            article = build_article(sources[page.source_id], page.url, page.html, page.fetched_at)
        except ExtractionError as exc:
            logger.warning("%s: kept as stored, no longer extracts: %s", page.url, exc)
            continue
        articles.append(replace(article, url=page.url))  # the stored identity stays
    translations = translate_articles([(a.language, a.title, a.text) for a in articles])
    return [
        replace(article, translation=translation)
        for article, translation in zip(articles, translations, strict=True)
    ]


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
    with store.connect() as conn:
        pages = archived_pages(conn, urls or None, source, since, until)
    articles = reprocess_pages(pages)
    with store.connect() as conn:
        clusters.forget(conn, [a.url for a in articles])  # first: any crash leaves it consistent
        updated = store.replace_articles(conn, articles)
        store.refresh_derived(conn)
        elapsed = time.monotonic() - started
        finish_run(conn, articles_report(conn, [a.url for a in articles], elapsed))
    get_run_logger().info("reprocessed %d of %d archived articles", updated, len(pages))
    return updated
