"""Ingest as a stream of chunks: discover -> frontier -> (fetch -> process -> translate -> commit)*.

Plain async functions, no Prefect: flows/ingest.py wraps them as tasks. A source's listings go
to the frontier first; then due URLs are leased in chunks, and each chunk is fetched,
processed (in a process pool), translated and committed before the next results pile up.
Memory is bounded by three chunks (fetching, processing, committing); a crash loses at most those.
A chunk's bodies are packed for the archive as soon as they are fetched (a zstd frame is about a
tenth of the str), and that frame is what the workers get and the commit archives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time

from connectors.config import Source
from connectors.discovery import Discovery, discover, in_window
from connectors.http import HttpClient
from connectors.records import FetchAttempt, Kind, Link, Outcome
from pipeline.pages import Packed, PageProcessor
from pipeline.progress import Stage, Step, ingest_steps
from processing.dedup import canonical_url
from processing.records import UrlResult
from processing.translate import translate_articles
from warehouse.archive import Body
from warehouse.frontier import Claimed, Refetch, lease_owner
from warehouse.interface import Warehouse, WarehouseCache
from warehouse.loads import RunKey, pack_attempt

CHUNK_SIZE = 200
# A backfill's progress: in the flow run's log (PREFECT_LOGGING_EXTRA_LOGGERS=newsflow) and on
# the CLI's stdout; INFO whatever the root logger's level.
logger = logging.getLogger("newsflow.ingest")
logger.setLevel(logging.INFO)
LEASE_POLL_SECONDS = 1.0  # how often a stream with nothing due looks at other runs' leases
OUTSIDE_WINDOW = "published outside the requested window"
Clock = Callable[[], datetime]
ChunkFetcher = Callable[
    [Source, list[Claimed], HttpClient], Awaitable[list[tuple[Claimed, FetchAttempt]]]
]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Chunk:
    """A chunk on its way to commit: its URLs' attempts, their text let go once packed, and
    the bodies packed for the archive by URL."""

    fetched: list[tuple[Claimed, FetchAttempt]]
    bodies: dict[str, Body]
    results: list[UrlResult] | None = None  # once processed and translated


def packed_chunk(fetched: list[tuple[Claimed, FetchAttempt]]) -> Chunk:
    """The chunk with each body packed (compressed, keyed) and its str dropped."""
    bodies: dict[str, Body] = {}
    kept = []
    for claimed, attempt in fetched:
        if (body := pack_attempt(attempt)) is not None:
            bodies[attempt.url] = body
            attempt = replace(attempt, text=None)
        kept.append((claimed, attempt))
    return Chunk(kept, bodies)


@dataclass(frozen=True)
class IngestRun:
    """One run's parameters, the same for every source and chunk (serializable)."""

    run: RunKey
    since: date | None = None
    until: date | None = None
    refetch: Refetch | None = None
    chunk_size: int = CHUNK_SIZE
    budget: int | None = None  # URLs a backfill may list per source; None: the whole window

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
    left: int = 0  # links of a backfill's window still unlisted (its budget ran out)

    def window_done(self, params: IngestRun, stored: int, days: int) -> str:
        """How much of a backfill's window this source has: the line a backfill ends with."""
        span = f"{params.since or '…'}..{params.until or '…'}"
        have = f"{stored} articles on {days} publication days of {span} stored"
        if self.left:
            return (
                f"{self.source_id}: window unfinished, {have}; the budget of {params.budget} URLs "
                f"is spent and {self.left} listed URLs wait: run the same backfill to continue"
            )
        return f"{self.source_id}: window done, {have} ({self.listed} URLs listed)"


async def ingest_source(
    source: Source,
    params: IngestRun,
    warehouse: Warehouse,
    client: HttpClient,
    pages: PageProcessor,
    clock: Clock = utc_now,
) -> SourceRun:
    """Discover a source's links, then fetch, process and commit its due URLs chunk by chunk.

    A backfill goes on in rounds until its window is exhausted or its budget spent: each round
    lists up to max_urls_per_run links the frontier does not hold yet, then streams them. A
    window left unfinished keeps its `capped` record, and the same backfill later continues it.
    """
    listed = new = chunks = rounds = 0
    skip: Callable[[str], bool] | None = None
    while True:
        discovery, added = await _list(source, params, warehouse, client, clock, skip)
        listed, new, rounds = listed + len(discovery.links), new + added, rounds + 1
        chunks += await stream_chunks(source, params, warehouse, client, pages, clock)
        left = discovery.left_out
        if params.daily or not left:
            return SourceRun(source.id, listed, new, chunks)
        stored, days = await asyncio.to_thread(
            warehouse.window_coverage, source.id, params.since, params.until
        )
        logger.info(
            "%s: backfill round %d: %d URLs listed, %d more in the listing; "
            "%d articles on %d publication days stored",
            source.id,
            rounds,
            listed,
            left,
            stored,
            days,
        )
        if (params.budget and listed >= params.budget) or not discovery.links:
            return SourceRun(source.id, listed, new, chunks, left)
        skip = _listed_before(await asyncio.to_thread(warehouse.known_urls, source.id))


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
    discovery, new = await _list(source, params, warehouse, client, clock)
    return len(discovery.links), new


async def _list(
    source: Source,
    params: IngestRun,
    warehouse: Warehouse,
    client: HttpClient,
    clock: Clock,
    skip: Callable[[str], bool] | None = None,
) -> tuple[Discovery, int]:
    """One reading of a source's listings into the frontier; the discovery and new URLs."""
    memory = warehouse.source_state(source.id) if params.daily else None
    stop_before = _start(params.since) or (memory.cursor if memory else None)
    validators = memory.validators if memory else {}
    discovery = await discover(source, client, stop_before, validators, skip)
    discovery.links = _unique(discovery.links)
    new = await asyncio.to_thread(
        warehouse.record_listings, params.run, discovery.attempts, discovery.links, clock()
    )
    if params.daily:
        await asyncio.to_thread(
            warehouse.remember_listings, source.id, discovery.attempts, discovery.links
        )
    ingest_steps.tell(Step(source.id, Stage.LISTED, new))
    return discovery, new


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
    processing: asyncio.Task[Chunk] | None = None
    committing: asyncio.Task[None] | None = None
    count = 0

    async def commit(chunk: Chunk) -> None:
        policy = lambda _: source.revisit  # noqa: E731
        await asyncio.to_thread(
            warehouse.commit_chunk, params.run, chunk.results or [], policy, clock(), chunk.bodies
        )

    async def hand_over() -> None:
        """The processed chunk goes to commit once the previous commit is done (in order)."""
        nonlocal committing, count
        if processing is not None:
            chunk = await processing
            if committing is not None:
                await committing
            committing = asyncio.create_task(commit(chunk))
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

    with warehouse.holding():  # one connection for the stream: no checkpoint a chunk
        try:
            while claimed := await next_chunk():
                fetched = await (fetch or fetch_chunk)(source, claimed, client)
                ingest_steps.tell(Step(source.id, Stage.FETCHED, len(fetched)))
                chunk = await asyncio.to_thread(packed_chunk, fetched)
                del fetched  # the bodies' str: the chunk holds their frames
                await hand_over()
                processing = asyncio.create_task(
                    finish_chunk(source, params, chunk, warehouse, pages)
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
    source: Source, params: IngestRun, chunk: Chunk, warehouse: Warehouse, pages: PageProcessor
) -> Chunk:
    """Process and translate one fetched chunk: the chunk with what its commit will write."""
    results = await process_chunk(source, params, chunk, pages)
    choice = dict(source.translation)
    translated = await asyncio.to_thread(translate_results, results, warehouse, choice)
    return replace(chunk, results=translated)


async def process_chunk(
    source: Source, params: IngestRun, chunk: Chunk, pages: PageProcessor
) -> list[UrlResult]:
    """Every fetched page through the one page path; failures keep their reason."""
    fetched, bodies = chunk.fetched, chunk.bodies
    ok = [(c, a) for c, a in fetched if a.ok]
    done = await pages.process(
        source,
        [
            (
                a.url,
                Packed(bodies[a.url].compressed) if a.url in bodies else a.text or "",
                a.content_type,
                a.attempted_at,
                a.final_url,
                c.link.published_at,
                a.charset,
                c.link,
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


def _listed_before(known: set[str]) -> Callable[[str], bool]:
    """Whether a listed URL is one the frontier holds (by its canonical form)."""
    return lambda url: canonical_url(url) in known


def _unique(links: list[Link]) -> list[Link]:
    """Each page once, as first listed: canonical_url (mobile and AMP spellings folded) is
    the key only; the URL fetched is exactly the one listed, a fold may name another page."""
    seen: dict[str, Link] = {}
    for link in links:
        seen.setdefault(canonical_url(link.url), link)
    return list(seen.values())
