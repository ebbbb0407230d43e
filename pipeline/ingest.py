"""Ingest as a stream of chunks: discover -> frontier -> (fetch -> process -> translate -> commit)*.

Plain async functions, no Prefect: flows/ingest.py wraps them as tasks. A source's listings go
to the frontier first; then due URLs are leased in chunks, and each chunk is fetched,
processed (in a process pool), translated and committed before the next results pile up.
Memory is bounded by three chunks (fetching, processing, committing); a crash loses at most those.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time

from connectors.config import Source
from connectors.discovery import discover, in_window
from connectors.http import HttpClient
from connectors.records import FetchAttempt, Kind, Link, Outcome
from pipeline.pages import PageProcessor
from processing.dedup import canonical_url
from processing.records import UrlResult
from processing.translate import translate_articles
from warehouse.frontier import Claimed, Refetch, lease_owner
from warehouse.interface import Warehouse, WarehouseCache
from warehouse.loads import RunKey

CHUNK_SIZE = 200
LEASE_POLL_SECONDS = 1.0  # how often a stream with nothing due looks at other runs' leases
OUTSIDE_WINDOW = "published outside the requested window"
Clock = Callable[[], datetime]
ChunkFetcher = Callable[
    [Source, list[Claimed], HttpClient], Awaitable[list[tuple[Claimed, FetchAttempt]]]
]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class IngestRun:
    """One run's parameters, the same for every source and chunk (serializable)."""

    run: RunKey
    since: date | None = None
    until: date | None = None
    refetch: Refetch | None = None
    chunk_size: int = CHUNK_SIZE

    @property
    def daily(self) -> bool:
        """Only runs without a window read and move the daily cursors."""
        return self.since is None and self.until is None


@dataclass(frozen=True)
class SourceRun:
    """What one source's stream did: URLs new to the frontier, chunks committed."""

    source_id: str
    listed: int
    new_urls: int
    chunks: int


async def ingest_source(
    source: Source,
    params: IngestRun,
    warehouse: Warehouse,
    client: HttpClient,
    pages: PageProcessor,
    clock: Clock = utc_now,
) -> SourceRun:
    """Discover a source's links, then fetch, process and commit its due URLs chunk by chunk."""
    listed, new = await list_source(source, params, warehouse, client, clock)
    chunks = await stream_chunks(source, params, warehouse, client, pages, clock)
    return SourceRun(source.id, listed, new, chunks)


async def list_source(
    source: Source,
    params: IngestRun,
    warehouse: Warehouse,
    client: HttpClient,
    clock: Clock = utc_now,
) -> tuple[int, int]:
    """Read a source's listings into the frontier (a daily run also moves its cursor).

    Returns how many links were listed and how many were new. The chunks can then be streamed
    here or by any worker of the pool (flows/pool.py).
    """
    memory = warehouse.source_state(source.id) if params.daily else None
    stop_before = _start(params.since) or (memory.cursor if memory else None)
    discovery = await discover(source, client, stop_before, memory.validators if memory else {})
    links = _unique(discovery.links)
    new = await asyncio.to_thread(
        warehouse.record_listings, params.run, discovery.attempts, links, clock()
    )
    if params.daily:
        await asyncio.to_thread(warehouse.remember_listings, source.id, discovery.attempts, links)
    return len(links), new


async def stream_chunks(
    source: Source,
    params: IngestRun,
    warehouse: Warehouse,
    client: HttpClient,
    pages: PageProcessor,
    clock: Clock = utc_now,
    fetch: ChunkFetcher | None = None,
) -> int:
    """Lease, fetch, process and commit due URLs until none is left; returns chunks committed.

    Three chunks move at once, each in its own stage: one is fetched (network) while the one
    before is processed and translated (worker processes) and the one before that committed
    (the warehouse), in order. Leases not committed are given back on exit. A stream ends
    when nothing is due and no other live run holds leases on the source, so the chunks of a
    worker that dies (pool workers, or two runs at once) are taken over and finished here.
    fetch replaces fetch_chunk (a pool worker takes its turn at the host first).
    """
    owner = lease_owner(f"{params.run.run_id}#{params.run.attempt}/{source.id}")
    started = clock()
    window = (params.since, params.until)
    processing: asyncio.Task[list[UrlResult]] | None = None
    committing: asyncio.Task[None] | None = None
    count = 0

    async def commit(results: list[UrlResult]) -> None:
        policy = lambda _: source.revisit  # noqa: E731
        await asyncio.to_thread(warehouse.commit_chunk, params.run, results, policy, clock())

    async def hand_over() -> None:
        """The processed chunk goes to commit once the previous commit is done (in order)."""
        nonlocal committing, count
        if processing is not None:
            results = await processing
            if committing is not None:
                await committing
            committing = asyncio.create_task(commit(results))
            count += 1

    async def next_chunk() -> list[Claimed]:
        """Due URLs; while other runs still hold some, wait: if one dies, its leases come here."""
        while True:
            claimed = await asyncio.to_thread(
                warehouse.claim,
                source.id,
                owner,
                params.chunk_size,
                clock(),
                started,
                window,
                params.refetch,
            )
            if claimed:
                return claimed
            await drain()  # ours first: another run may be waiting for them just the same
            if not await asyncio.to_thread(warehouse.leased_elsewhere, source.id, owner, clock()):
                return claimed
            await asyncio.sleep(LEASE_POLL_SECONDS)

    async def drain() -> None:
        """Commit what is in flight here: the last processed chunk, after the one before."""
        nonlocal processing
        await hand_over()
        processing = None
        if committing is not None:
            await committing

    try:
        while claimed := await next_chunk():
            fetched = await (fetch or fetch_chunk)(source, claimed, client)
            await hand_over()
            processing = asyncio.create_task(
                finish_chunk(source, params, fetched, warehouse, pages)
            )
        await drain()
    finally:
        for stage in (processing, committing):
            if stage is not None and not stage.done():
                stage.cancel()
        await asyncio.to_thread(warehouse.release, owner)
    return count


async def fetch_chunk(
    source: Source, claimed: list[Claimed], client: HttpClient
) -> list[tuple[Claimed, FetchAttempt]]:
    """Fetch a chunk's URLs together (politely per host); one attempt per URL, conditional
    where a stored article is re-checked."""
    attempts = await asyncio.gather(
        *(client.fetch(c.link.url, source, validators=c.validators) for c in claimed)
    )
    return list(zip(claimed, attempts, strict=True))


async def finish_chunk(
    source: Source,
    params: IngestRun,
    fetched: list[tuple[Claimed, FetchAttempt]],
    warehouse: Warehouse,
    pages: PageProcessor,
) -> list[UrlResult]:
    """Process and translate one fetched chunk: what its commit will write."""
    results = await process_chunk(source, params, fetched, pages)
    return await asyncio.to_thread(translate_results, results, warehouse, dict(source.translation))


async def process_chunk(
    source: Source,
    params: IngestRun,
    fetched: list[tuple[Claimed, FetchAttempt]],
    pages: PageProcessor,
) -> list[UrlResult]:
    """Every fetched page through the one page path; failures keep their reason."""
    ok = [(c, a) for c, a in fetched if a.ok]
    done = await pages.process(
        source,
        [
            (
                a.url,
                a.text or "",
                a.content_type,
                a.attempted_at,
                a.final_url,
                c.link.published_at,
                a.charset,
            )
            for c, a in ok
        ],
    )
    processed = {a.url: page for (_, a), page in zip(ok, done, strict=True)}
    results = []
    for claimed, attempt in fetched:
        page = processed.get(attempt.url)
        if page is None:
            results.append(UrlResult(attempt, failures=claimed.failures))
        elif page.article is None:
            failed = replace(attempt, outcome=page.outcome, error=page.error)
            results.append(UrlResult(failed, failures=claimed.failures))
        elif not in_window(page.article.published_at, params.since, params.until):
            outside = replace(attempt, outcome=Outcome.OUTSIDE_WINDOW, error=OUTSIDE_WINDOW)
            results.append(UrlResult(outside, page.article, claimed.failures))
        else:
            results.append(UrlResult(attempt, page.article, claimed.failures))
    return results


def translate_results(
    results: list[UrlResult], warehouse: Warehouse, choice: Mapping[str, str] | None = None
) -> list[UrlResult]:
    """English for the chunk's new articles in one batch; cached texts are not sent again.

    choice: the translation model per language (sources.yaml `defaults: translation:`).
    """
    indexed = [
        (i, r.article)
        for i, r in enumerate(results)
        if r.article is not None and r.attempt.outcome == Outcome.OK
    ]
    items = [(a.language, a.title, a.text) for _, a in indexed]
    translations = translate_articles(items, WarehouseCache(warehouse), choice) if items else []
    out = list(results)
    for (i, article), translation in zip(indexed, translations, strict=True):
        out[i] = replace(out[i], article=replace(article, translation=translation))
    return out


def crashed_listing(source: Source, error: BaseException, now: datetime) -> FetchAttempt:
    """The record of a source whose whole stream failed (a bug, a full disk)."""
    message = f"source failed: {type(error).__name__}: {error}"[:500]
    return FetchAttempt(
        source.id, source.base_url, Outcome.CRASHED, now, error=message, kind=Kind.LISTING
    )


def _start(day: date | None) -> datetime | None:
    """The first moment of a day (UTC), where archive walks stop going back."""
    return datetime.combine(day, time.min, UTC) if day else None


def _unique(links: list[Link]) -> list[Link]:
    """Links with canonical URLs, each once."""
    seen: dict[str, Link] = {}
    for link in links:
        url = canonical_url(link.url)
        seen.setdefault(url, replace(link, url=url))
    return list(seen.values())
