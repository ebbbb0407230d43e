"""The ingest flow: discover -> fetch -> extract -> detect -> translate -> load, in batches."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, time

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.states import State

from connectors.config import Source, load_sources, select_sources
from connectors.discovery import Discovery, discover, in_window, link_in_window
from connectors.http import HttpClient
from connectors.pages import PageJson, unshell
from connectors.records import FetchAttempt, Link, Validators
from flows import summary
from flows.runs import finish_run
from processing.article import build_article
from processing.dedup import canonical_url
from processing.extract import ExtractionError
from processing.records import Outcome
from processing.translate import translate_articles
from warehouse import state, store
from warehouse.reports import SourceReport, run_report

HTML_TYPES = ("text/html", "application/xhtml+xml")
OUTSIDE_WINDOW = "published outside the requested window"
Counts = dict[str, dict[str, int]]
# Network tasks: the client retries each request itself; these retries cover a task that crashed
# (a bug, a full disk) and the timeouts bound a source that hangs despite per-request timeouts.
# The tasks are async so that Prefect can cancel them at the timeout.
NETWORK_TASK = {"retries": 1, "retry_delay_seconds": 10, "cache_policy": NO_CACHE}


@task(**NETWORK_TASK, timeout_seconds=1800)
async def discover_links(
    source: Source, stop_before: datetime | None, validators: dict[str, Validators]
) -> Discovery:
    """All article links a source lists now; archive walks stop at `stop_before`."""
    async with HttpClient() as client:
        return await discover(source, client, stop_before, validators)


@task(**NETWORK_TASK, timeout_seconds=3600)
async def fetch_articles(
    source: Source, links: list[Link], since: date | None, until: date | None
) -> list[Outcome]:
    """Fetch one source's new pages together (politely per host), then process each."""
    async with HttpClient() as client:
        attempts = await asyncio.gather(
            *(client.fetch(link.url, source.id, source.politeness) for link in links)
        )
    return [_process(source, attempt, since, until) for attempt in attempts]


@task(cache_policy=NO_CACHE)
def translate_outcomes(outcomes: list[Outcome]) -> list[Outcome]:
    """Translate every new article of the run in one batch, so the model sees large batches.

    Texts the warehouse's translation cache has (a duplicated story) are not translated again.
    """
    from flows.translate import WarehouseCache

    indexed = [(i, o.article) for i, o in enumerate(outcomes) if o.article is not None]
    items = [(a.language, a.title, a.text) for _, a in indexed]
    translations = translate_articles(items, WarehouseCache())
    result = list(outcomes)
    for (i, article), translation in zip(indexed, translations, strict=True):
        result[i] = replace(result[i], article=replace(article, translation=translation))
    return result


@task(cache_policy=NO_CACHE)
def load_outcomes(
    sources: list[Source], outcomes: list[Outcome]
) -> tuple[Counts, list[SourceReport]]:
    """Write the run's articles and fetch log in one short transaction; count outcomes.

    Then cluster the new articles, refresh the search index, and record the run's figures in
    `runs` and in its summary artifact.
    """
    run_id = str(flow_run.get_id() or "")
    with store.connect() as conn:
        store.register_sources(conn, sources)
        store.load_batch(conn, outcomes, run_id=run_id)
        store.refresh_derived(conn)
        reports = run_report(conn, run_id)
        finish_run(conn, reports)
        return store.run_outcomes(conn, run_id), reports


@flow(name="ingest", log_prints=True)
def ingest(
    sources: list[str] | None = None, since: date | None = None, until: date | None = None
) -> State:
    """Ingest new articles from the configured sources, optionally within a date window.

    Ends Completed with, per source, how many URLs ended in each outcome (stored, duplicate,
    skipped, ...), or in a "Partial failure" naming the sources none of whose listings could be
    read; the other sources' articles are loaded either way.
    The Args below are what the Prefect UI shows beside each field of the Run form.

    Args:
        sources: Source ids from sources.yaml, e.g. caucasian-knot. Empty means all sources.
        since: First publication day to load (a backfill). Empty: no lower bound.
        until: Last publication day to load, inclusive. Empty: up to today.
    """
    selected = select_sources(load_sources(), sources)
    daily = since is None and until is None  # only daily runs read and move the cursors
    with store.connect() as conn:
        memory = {s.id: state.read(conn, s.id) if daily else state.SourceState() for s in selected}
    futures = [
        discover_links.submit(s, _start(since) or memory[s.id].cursor, memory[s.id].validators)
        for s in selected
    ]
    discoveries = [_discovered(s, future) for s, future in zip(selected, futures, strict=True)]
    outcomes = [Outcome(a) for d in discoveries for a in d.attempts]
    listings = {a.url for d in discoveries for a in d.attempts}
    retries = [link for m in memory.values() for link in m.retries if link.url not in listings]
    links = _unique([link for d in discoveries for link in d.links] + retries)
    with store.connect() as conn:
        known = store.known_urls(conn, [link.url for link in links])
    to_fetch: dict[str, list[Link]] = {s.id: [] for s in selected}
    for link in links:
        if link.url in known:
            outcomes.append(_skipped(link, "already stored"))
        elif not link_in_window(link, since, until):
            outcomes.append(_skipped(link, OUTSIDE_WINDOW))
        else:
            to_fetch[link.source_id].append(link)
    fetches = {s.id: fetch_articles.submit(s, to_fetch[s.id], since, until) for s in selected}
    for source_id, future in fetches.items():
        outcomes += _fetched(to_fetch[source_id], future)
    counts, reports = load_outcomes(selected, translate_outcomes(outcomes))
    if daily:
        _remember(selected, discoveries)
    get_run_logger().info("outcomes per source: %s", counts)
    return summary.final_state(reports, data=counts)


def _discovered(source: Source, future: PrefectFuture[Discovery]) -> Discovery:
    """A source whose discovery task failed is recorded as a failed listing; the others go on."""
    try:
        return future.result()
    except Exception as exc:  # a crash of one source must not stop the rest
        return Discovery(attempts=[_crashed(source.id, source.base_url, exc, "listing")])


def _fetched(links: list[Link], future: PrefectFuture[list[Outcome]]) -> list[Outcome]:
    """A source's fetched pages, or, if its task failed, each link recorded as crashed."""
    try:
        return future.result()
    except Exception as exc:
        return [Outcome(_crashed(link.source_id, link.url, exc, "article")) for link in links]


def _crashed(source_id: str, url: str, exc: Exception, kind: str) -> FetchAttempt:
    error = f"task failed: {type(exc).__name__}: {exc}"
    return FetchAttempt(source_id, url, "crashed", datetime.now(UTC), error=error, kind=kind)


def _process(
    source: Source, attempt: FetchAttempt, since: date | None, until: date | None
) -> Outcome:
    if not attempt.ok:
        return Outcome(attempt)
    bare = replace(attempt, text=None)
    if attempt.content_type and attempt.content_type not in HTML_TYPES:
        error = f"content type {attempt.content_type}"
        return Outcome(replace(bare, outcome="not_html", error=error))
    page = attempt.text or ""
    if spec := PageJson.from_options(source.options):
        page = unshell(page, spec, attempt.url) or page
    try:
        article = build_article(source, attempt.url, page, attempt.attempted_at)
    except ExtractionError as exc:
        return Outcome(replace(bare, outcome="no_content", error=str(exc)))
    if not in_window(article.published_at, since, until):
        return Outcome(replace(bare, outcome="skipped", error=OUTSIDE_WINDOW))
    return Outcome(bare, article)


def _remember(sources: list[Source], discoveries: list[Discovery]) -> None:
    """After the run's load: listing validators and cursors, for the next daily run."""
    with store.connect() as conn:
        for source, discovery in zip(sources, discoveries, strict=True):
            state.save_validators(conn, discovery.attempts)
            state.advance_cursor(conn, source.id, discovery.links)


def _start(day: date | None) -> datetime | None:
    """The first moment of a day (UTC), where archive walks stop going back."""
    return datetime.combine(day, time.min, UTC) if day else None


def _unique(links: list[Link]) -> list[Link]:
    """Links with canonical URLs, each once."""
    seen: dict[str, Link] = {}
    for link in links:
        seen.setdefault(canonical_url(link.url), replace(link, url=canonical_url(link.url)))
    return list(seen.values())


def _skipped(link: Link, reason: str) -> Outcome:
    attempt = FetchAttempt(link.source_id, link.url, "skipped", datetime.now(UTC), error=reason)
    return Outcome(attempt)
