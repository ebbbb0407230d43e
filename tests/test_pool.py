"""Two workers of the `newsflow` pool share one ingest, and a host's politeness holds across them.

A real local Prefect stack (server, pool, prefect.yaml deployed) with two process workers that
take one flow run at a time each; the pool ingest is started from its own process, as an
operator's script would, and spreads its chunks over two runs of ingest-chunks/pool.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import httpx
import pytest
import yaml
from hostile_site import HostileSite, Request, response, urlset

from flows.pool import host_limit
from flows.serve import LocalStack, free_port

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = 240
MAX_PER_HOST = 2
pytestmark = pytest.mark.e2e


def _page(number: int) -> bytes:
    return response(
        f"<html><head><title>Harbour notice {number}</title></head><body><article>"
        f"<h1>Harbour notice {number}</h1><p>Notice {number}: berth {number % 13} closes for "
        f"dredging from Monday, the port authority said, and ferries use berth "
        f"{(number + 5) % 13} until the work on pier {number} is done.</p></article></body></html>"
    )


@dataclass
class PoolIngest:
    """What the pool ingest left: its chunk runs, the pool's limits, the site, the warehouse."""

    chunk_runs: list[dict]
    limits: list[dict]
    site: HostileSite
    peak: int  # most article requests in flight at once
    warehouse: Path


class Busiest:
    """The most requests a site had in flight at once."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self.lock = threading.Lock()

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc_info: object) -> None:
        with self.lock:
            self.now -= 1


@pytest.fixture(scope="module")
def pool_ingest(tmp_path_factory):
    """The pool ingest of a 240-article site by two workers; yields what it left."""
    tmp = tmp_path_factory.mktemp("pool")
    busiest = Busiest()
    with HostileSite() as site:

        def article(request: Request) -> bytes:
            with busiest:
                site.wait(0.03)
                return _page(int(request.path.rsplit("/", 1)[1]))

        for n in range(ARTICLES):
            site.route(f"/notice/{n}", article)
        listing = urlset([site.url(f"/notice/{n}") for n in range(ARTICLES)])
        site.route("/sitemap.xml", response(listing, content_type="application/xml"))
        site.route("/robots.txt", response("User-agent: *\n", content_type="text/plain"))
        source = {
            "id": "harbour",
            "name": "Harbour",
            "kind": "sitemap",
            "base_url": site.base_url,
            "sitemap_url": "/sitemap.xml",
            "politeness": {"delay_seconds": 0, "max_per_host": MAX_PER_HOST, "retries": 0},
        }
        sources = tmp / "sources.yaml"
        sources.write_text(yaml.safe_dump({"sources": [source]}), encoding="utf-8")
        env = {
            "NEWSFLOW_SOURCES": str(sources),
            "NEWSFLOW_DB": str(tmp / "newsflow.duckdb"),
            "NEWSFLOW_WORKERS": "0",
        }
        stack = LocalStack(
            home=tmp / "prefect", port=free_port(), extra_env=env, workers=2, worker_limit=1
        )
        with stack:
            started = subprocess.run(
                [sys.executable, "-c", "import asyncio; from flows.pool import ingest_on_pool; "
                 "asyncio.run(ingest_on_pool(workers=2, chunk_size=20))"],
                cwd=ROOT, env=stack.env(), capture_output=True, text=True, timeout=400,
            )  # fmt: skip
            assert started.returncode == 0, started.stderr[-3000:]
            chunk_runs = httpx.post(
                f"{stack.api_url}/flow_runs/filter",
                json={"flows": {"name": {"any_": ["ingest-chunks"]}}},
            ).json()
            limits = httpx.post(f"{stack.api_url}/v2/concurrency_limits/filter", json={}).json()
        yield PoolIngest(chunk_runs, limits, site, busiest.peak, Path(env["NEWSFLOW_DB"]))


def _when(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def test_two_workers_share_the_chunks_of_one_ingest(pool_ingest):
    runs = pool_ingest.chunk_runs
    assert [r["state"]["type"] for r in runs] == ["COMPLETED", "COMPLETED"]
    first, second = sorted(runs, key=lambda r: r["start_time"])
    # each worker takes one run at a time: runs that overlap ran on the two workers
    assert _when(second["start_time"]) < _when(first["end_time"])
    with duckdb.connect(str(pool_ingest.warehouse), read_only=True) as conn:
        stored = conn.execute("SELECT count(*), count(DISTINCT url) FROM articles").fetchone()
        runs_that_fetched = conn.execute(
            "SELECT count(DISTINCT run_id) FROM fetch_log WHERE kind = 'article'"
        ).fetchone()
    assert stored == (ARTICLES, ARTICLES)
    assert runs_that_fetched == (1,)  # one ingest run: its chunks count together
    requests = [p for p in pool_ingest.site.paths() if p.startswith("/notice/")]
    assert sorted(requests) == sorted(f"/notice/{n}" for n in range(ARTICLES))  # each once


def test_a_hosts_politeness_holds_across_the_workers(pool_ingest):
    [limit] = [x for x in pool_ingest.limits if x["name"] == host_limit(pool_ingest.site.base_url)]
    assert limit["limit"] == 1  # one worker's turn at the host at a time
    # each worker alone would allow MAX_PER_HOST requests: together they stay within it
    assert pool_ingest.peak <= MAX_PER_HOST
