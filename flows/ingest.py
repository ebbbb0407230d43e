"""The ingest flow: discover -> fetch -> extract -> detect -> translate -> load, in batches."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from connectors.config import Source, load_sources, select_sources
from connectors.discovery import Discovery, discover, in_window
from connectors.http import HttpClient
from connectors.records import FetchAttempt, Link
from processing.article import build_article
from processing.dedup import canonical_url
from processing.extract import ExtractionError
from processing.records import Outcome
from processing.translate import translate_articles
from warehouse import store

HTML_TYPES = ("text/html", "application/xhtml+xml")
OUTSIDE_WINDOW = "published outside the requested window"


@task(cache_policy=NO_CACHE)
def discover_links(source: Source, since: date | None) -> Discovery:
    """All article links a source lists now (paging stops at `since` where the kind can)."""
    with HttpClient() as client:
        return discover(source, client, since)


@task(cache_policy=NO_CACHE)
def fetch_articles(
    source: Source, links: list[Link], since: date | None, until: date | None
) -> list[Outcome]:
    """Fetch and process one source's new pages; each page ends as an article or a reason."""
    with HttpClient() as client:
        return [
            _process(source, client.fetch(link.url, source.id, source.politeness), since, until)
            for link in links
        ]


@task(cache_policy=NO_CACHE)
def translate_outcomes(outcomes: list[Outcome]) -> list[Outcome]:
    """Translate every new article of the run in one batch, so the model sees large batches."""
    indexed = [(i, o.article) for i, o in enumerate(outcomes) if o.article is not None]
    translations = translate_articles([(a.language, a.title, a.text) for _, a in indexed])
    result = list(outcomes)
    for (i, article), translation in zip(indexed, translations, strict=True):
        result[i] = replace(result[i], article=replace(article, translation=translation))
    return result


@task(cache_policy=NO_CACHE)
def load_outcomes(sources: list[Source], outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    """Write the run's articles and fetch log in one short transaction; count outcomes."""
    run_id = str(flow_run.get_id() or "")
    with store.connect() as conn:
        store.register_sources(conn, sources)
        store.load_batch(conn, outcomes, run_id=run_id)
        return store.run_outcomes(conn, run_id)


@flow(name="ingest", log_prints=True)
def ingest(
    sources: list[str] | None = None, since: date | None = None, until: date | None = None
) -> dict[str, dict[str, int]]:
    """Ingest new articles from the configured sources, optionally within a date window.

    sources: ids from sources.yaml (all when empty); since/until: first and last publication
    day to load (a backfill); without them, whatever the sources list now that is not stored.
    Returns, per source, how many URLs ended in each outcome (stored, duplicate, skipped, ...).
    """
    selected = select_sources(load_sources(), sources)
    futures = [discover_links.submit(s, since) for s in selected]
    discoveries = [future.result() for future in futures]
    outcomes = [Outcome(a) for d in discoveries for a in d.attempts]
    links = _unique([link for d in discoveries for link in d.links])
    with store.connect() as conn:
        known = store.known_urls(conn, [link.url for link in links])
    to_fetch: dict[str, list[Link]] = {s.id: [] for s in selected}
    for link in links:
        if link.url in known:
            outcomes.append(_skipped(link, "already stored"))
        elif not in_window(link.published_at, since, until):
            outcomes.append(_skipped(link, OUTSIDE_WINDOW))
        else:
            to_fetch[link.source_id].append(link)
    fetches = [fetch_articles.submit(s, to_fetch[s.id], since, until) for s in selected]
    outcomes += [outcome for future in fetches for outcome in future.result()]
    summary = load_outcomes(selected, translate_outcomes(outcomes))
    get_run_logger().info("outcomes per source: %s", summary)
    return summary


def _process(
    source: Source, attempt: FetchAttempt, since: date | None, until: date | None
) -> Outcome:
    if not attempt.ok:
        return Outcome(attempt)
    bare = replace(attempt, text=None)
    if attempt.content_type and attempt.content_type not in HTML_TYPES:
        error = f"content type {attempt.content_type}"
        return Outcome(replace(bare, outcome="not_html", error=error))
    try:
        article = build_article(source, attempt.url, attempt.text or "", attempt.attempted_at)
    except ExtractionError as exc:
        return Outcome(replace(bare, outcome="no_content", error=str(exc)))
    if not in_window(article.published_at, since, until):
        return Outcome(replace(bare, outcome="skipped", error=OUTSIDE_WINDOW))
    return Outcome(bare, article)


def _unique(links: list[Link]) -> list[Link]:
    """Links with canonical URLs, each once."""
    seen: dict[str, Link] = {}
    for link in links:
        seen.setdefault(canonical_url(link.url), replace(link, url=canonical_url(link.url)))
    return list(seen.values())


def _skipped(link: Link, reason: str) -> Outcome:
    attempt = FetchAttempt(link.source_id, link.url, "skipped", datetime.now(UTC), error=reason)
    return Outcome(attempt)
