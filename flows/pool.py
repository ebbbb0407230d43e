"""An ingest spread over the `newsflow` work pool: any worker, on any machine, takes chunks.

`ingest-on-pool` reads every source's listings into the frontier, then starts `workers` runs
of the `ingest-chunks/pool` deployment and waits for them. Each of those runs, on whichever
worker of the pool picks it up, leases due chunks from the frontier, fetches, processes,
translates and commits them until none is left (pipeline.ingest.stream_chunks): leases keep
two workers off the same URL, and a worker that dies leaves its leases to the others. The
workers share one warehouse, which must be a DuckLake (the settings' warehouse) once they are on
several machines.

Politeness holds across the pool: one Prefect global concurrency limit of one slot per site
(registrable domain, else host and port: connectors.politeness.site_key) gives one worker at a
time its turn to fetch a chunk from that site, with the source's own
politeness (max_per_host in flight, delay_seconds apart).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Sequence
from contextlib import suppress
from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.concurrency.asyncio import concurrency
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL
from prefect.states import State

from connectors.config import Source, load_sources, select_sources
from connectors.http import HttpClient
from connectors.politeness import site_key
from connectors.records import FetchAttempt
from core.settings import VARIABLES
from flows.ingest import check_window, close
from flows.runs import current_run
from flows.unresponsive import heartbeat_env
from pipeline.ingest import (
    CHUNK_SIZE,
    ChunkFetcher,
    IngestRun,
    fetch_chunk,
    list_source,
    stream_chunks,
)
from pipeline.pages import PageProcessor
from pipeline.run import Run
from pipeline.summary import DEFAULT_FAILURE_THRESHOLD
from warehouse.frontier import Claimed, Refetch
from warehouse.interface import DuckDBWarehouse
from warehouse.loads import RunKey

WAREHOUSE = VARIABLES["warehouse"]  # the variable naming a DuckLake
WORK_POOL = "newsflow"  # as flows/serve.py creates it
CHUNKS_DEPLOYMENT = "ingest-chunks/pool"
# A host slot is held by a lease that its holder renews every 45 s; a worker that vanishes stops
# renewing, and the server's repossessor frees the slot at most this long after (plus its loop,
# REPOSSESSOR_LOOP_SECONDS under `newsflow serve`). Prefect's default, 300 s, kept every other
# worker off that host for five minutes or more; 60 s is the shortest lease Prefect accepts.
HOST_LEASE_SECONDS = 60


def host_limit(url: str) -> str:
    """The name of the global concurrency limit of a URL's site: the key the in-process limiter
    uses (connectors.politeness.site_key), so every spelling of one host and every host of one
    registrable domain take turns on one limit."""
    return f"newsflow-host-{site_key(url)}"


async def create_host_limits(sources: Sequence[Source]) -> set[str]:
    """One limit of one slot per host of the sources, on the Prefect server; their names."""
    names = {host_limit(s.base_url) for s in sources}
    async with get_client() as client:
        for name in names:
            await client.upsert_global_concurrency_limit_by_name(name, 1)
    return names


async def existing_host_limits(sources: Sequence[Source]) -> set[str]:
    """Which of the sources' host limits the server has (the pool run created them)."""
    found = set()
    async with get_client() as client:
        for name in {host_limit(s.base_url) for s in sources}:
            with suppress(ObjectNotFound):
                await client.read_global_concurrency_limit_by_name(name)
                found.add(name)
    return found


def polite_fetch(limits: set[str]) -> ChunkFetcher:
    """fetch_chunk, once this worker has its turn at the source's host.

    One worker of the pool fetches from a host at a time, with the source's politeness
    (max_per_host in flight, delay_seconds apart), so the host sees what one process would
    send, however many workers there are; the others process and commit meanwhile. A slot
    per chunk, not per request: Prefect's limits cost API calls, a chunk is many requests.
    The slot is leased (HOST_LEASE_SECONDS), so a worker lost mid-chunk does not keep it.
    """

    async def fetch(
        source: Source, claimed: list[Claimed], client: HttpClient
    ) -> list[tuple[Claimed, FetchAttempt]]:
        name = host_limit(source.base_url)
        if name not in limits:
            return await fetch_chunk(source, claimed, client)
        async with concurrency(name, occupy=1, lease_duration=HOST_LEASE_SECONDS):
            return await fetch_chunk(source, claimed, client)

    return fetch


@flow(name="ingest-chunks", log_prints=True)
async def ingest_chunks(
    sources: list[str],
    run_id: str,
    attempt: int = 1,
    since: date | None = None,
    until: date | None = None,
    refetch: Refetch | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> int:
    """One worker's share of an ingest: lease and commit chunks until none is due.

    Args:
        sources: Source ids whose due URLs this run takes.
        run_id: The ingest run the chunks belong to (its figures and fetch log).
        attempt: Which try of that run.
        since: First publication day of a backfill window.
        until: Last publication day of a backfill window.
        refetch: Fetch again what the revisit policy holds back: "failed" or "all".
        chunk_size: URLs fetched, processed and committed together.
    """
    selected = select_sources(load_sources(), sources)
    params = IngestRun(RunKey(run_id, attempt), since, until, refetch, chunk_size)
    warehouse = DuckDBWarehouse()
    fetch = polite_fetch(await existing_host_limits(selected))
    with PageProcessor() as pages:
        async with HttpClient() as client:
            counts = await asyncio.gather(
                *(stream_chunks(s, params, warehouse, client, pages, fetch=fetch) for s in selected)
            )
    get_run_logger().info("committed %d chunks", sum(counts))
    return sum(counts)


@flow(name="ingest-on-pool", log_prints=True)
async def ingest_on_pool(
    sources: list[str] | None = None,
    workers: int = 2,
    since: date | None = None,
    until: date | None = None,
    refetch: Refetch | None = None,
    failure_threshold: float = DEFAULT_FAILURE_THRESHOLD,
    chunk_size: int = CHUNK_SIZE,
) -> State:
    """The ingest, its chunks spread over `workers` runs on the newsflow work pool.

    Args:
        sources: Source ids from sources.yaml. Empty means all sources.
        workers: Chunk runs started on the pool; each takes chunks until none is due.
        since: First publication day to load (a backfill). Empty: no lower bound.
        until: Last publication day to load, inclusive. Empty: up to today.
        refetch: Fetch again what the revisit policy holds back: "failed" or "all".
        failure_threshold: Share of a source's URLs that may fail before the run is failed.
        chunk_size: URLs fetched, processed and committed together.
    """
    check_window(since, until)
    selected = select_sources(load_sources(), sources)
    record = current_run()
    run = await asyncio.to_thread(
        Run.open, DuckDBWarehouse(), record, selected, since, until, refetch, chunk_size
    )
    await create_host_limits(selected)
    async with HttpClient() as client:
        listed = await asyncio.gather(
            *(list_source(s, run.params, run.warehouse, client) for s in selected),
            return_exceptions=True,
        )
    for source, outcome in zip(selected, listed, strict=True):
        if isinstance(outcome, BaseException):
            run.record_crash(source, outcome)
    parameters = {
        "sources": [s.id for s in selected if s.id not in run.crashed],
        "run_id": run.key.run_id,
        "attempt": run.key.attempt,
        "since": since,
        "until": until,
        "refetch": refetch,
        "chunk_size": chunk_size,
    }
    runs = await asyncio.gather(
        *(run_deployment(CHUNKS_DEPLOYMENT, parameters=parameters) for _ in range(workers))
    )
    failed = [chunks for chunks in runs if chunks.state is None or not chunks.state.is_completed()]
    if failed:
        run.crashed["pool"] = (
            f"{len(failed)} of {workers} chunk runs did not complete: "
            + ", ".join(
                f"{chunks.name} ({chunks.state.name if chunks.state else 'unknown'})"
                for chunks in failed
            )
        )
    return await asyncio.to_thread(close, run, failure_threshold)


def join_pool(api_url: str | None = None, name: str | None = None, limit: int | None = None) -> int:
    """Run a process worker of the newsflow pool on this machine until it is stopped.

    The warehouse is opened first, so a worker that cannot reach it says so before it takes
    any work; one on the default DuckDB file is told that only this machine's workers share it.
    """
    api_url = api_url or PREFECT_API_URL.value()
    if not api_url:
        raise ValueError("which Prefect API? --api http://HOST:4200/api (a `newsflow serve`)")
    where, shared = DuckDBWarehouse().describe()
    print(f"worker of pool '{WORK_POOL}' at {api_url}, warehouse: {where}", flush=True)
    if not shared:
        print(f"  only workers on this machine share a file: set {WAREHOUSE} to a DuckLake")
    command = [str(Path(sys.executable).with_name("prefect")), "worker", "start"]
    command += ["--pool", WORK_POOL, "--type", "process", *(["--name", name] if name else [])]
    command += ["--limit", str(limit)] if limit else []
    env = {**os.environ, "PREFECT_API_URL": api_url, **heartbeat_env()}
    return subprocess.call(command, env=env, cwd=Path(__file__).resolve().parents[1])
