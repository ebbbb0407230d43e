"""Two workers of the `newsflow` pool share one ingest and the translation backlog after it.

A real local Prefect stack (server, pool, prefect.yaml deployed) with two process workers that
take one flow run at a time each; the pool ingest is started from its own process, as an
operator's script would, and spreads its chunks over two runs of ingest-chunks/pool. Its
Russian articles wait for a model that the workers do not have yet; the backlog is then spread
over translate-batch runs twice: before the model is installed on the workers, and after.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import httpx
import pytest
from argos_package import build_argos_package
from hostile_site import HostileSite, Request, response

from flows.pool import host_limit
from flows.serve import LocalStack, free_port

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = 240
RUSSIAN = range(0, ARTICLES, 20)  # these notices are in Russian: 12 wait for a model
BATCH_SIZE = 6  # two batch runs, one on each worker
MAX_PER_HOST = 2
pytestmark = pytest.mark.e2e


def _page(number: int) -> bytes:
    if number in RUSSIAN:
        return response(
            f"<html><head><title>Объявление порта {number}</title></head><body><article>"
            f"<h1>Объявление порта {number}</h1><p>Объявление {number}: причал {number % 13} "
            f"закрывается на дноуглубление с понедельника, заявили в управлении порта, а паромы "
            f"пойдут к причалу {(number + 5) % 13}, пока работы на пирсе {number} не закончатся."
            f"</p></article></body></html>"
        )
    return response(
        f"<html><head><title>Harbour notice {number}</title></head><body><article>"
        f"<h1>Harbour notice {number}</h1><p>Notice {number}: berth {number % 13} closes for "
        f"dredging from Monday, the port authority said, and ferries use berth "
        f"{(number + 5) % 13} until the work on pier {number} is done.</p></article></body></html>"
    )


@dataclass
class PoolIngest:
    """What the pool ingest and the pool translations left: runs, limits, site, warehouse."""

    chunk_runs: list[dict]
    limits: list[dict]
    site: HostileSite
    peak: int  # most article requests in flight at once
    warehouse: Path
    spread_runs: list[dict]  # translate-on-pool: without the model on the workers, then with it
    batch_runs: list[dict]  # translate-batch runs of both, in the order they were created
    pending_after_failure: set[str]  # URLs still pending after the spread that failed


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

        site.serve_sitemap([f"/notice/{n}" for n in range(ARTICLES)], article)
        sources = site.sitemap_sources(tmp / "sources.yaml", "harbour", MAX_PER_HOST)
        env = {
            "NEWSFLOW_SOURCES": str(sources),
            "NEWSFLOW_DB": str(tmp / "newsflow.duckdb"),
            "NEWSFLOW_WORKERS": "0",
            # the workers' own model store, empty until the model is installed below
            "ARGOS_PACKAGES_DIR": str(tmp / "argos-packages"),
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

            def run(command: list[str]) -> None:
                done = subprocess.run(
                    command, cwd=ROOT, env=stack.env(), capture_output=True, text=True, timeout=300
                )
                assert done.returncode == 0, done.stderr[-3000:]

            def spread_translation(arguments: str) -> None:
                run([sys.executable, "-c", "import asyncio; from flows.translate import "
                     f"translate_on_pool; asyncio.run(translate_on_pool({arguments}, "
                     "return_state=True))"])  # fmt: skip

            # no model anywhere yet: the spread run is told which language; one batch, 2 tries
            spread_translation(f"languages=['ru'], batch_size={len(RUSSIAN)}, tries=2")
            pending_after_failure = _pending(Path(env["NEWSFLOW_DB"]))
            model = build_argos_package(tmp)
            run([str(Path(sys.executable).with_name("newsflow")), "models", "install", "--file",
                 str(model)])  # fmt: skip
            # the languages installed where it runs: ru
            spread_translation(f"workers=2, batch_size={BATCH_SIZE}")
            spread_runs, batch_runs = (
                sorted(
                    httpx.post(
                        f"{stack.api_url}/flow_runs/filter",
                        json={"flows": {"name": {"any_": [flow]}}},
                    ).json(),
                    key=lambda r: r["created"],
                )
                for flow in ("translate-on-pool", "translate-batch")
            )
        yield PoolIngest(
            chunk_runs,
            limits,
            site,
            busiest.peak,
            Path(env["NEWSFLOW_DB"]),
            spread_runs,
            batch_runs,
            pending_after_failure,
        )


def _pending(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute(
            "SELECT url FROM articles WHERE translation_status = 'pending_model'"
        ).fetchall()
    return {url for (url,) in rows}


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


def test_a_batch_on_a_worker_without_the_model_fails_clearly_and_nothing_is_saved(pool_ingest):
    failed_spread = pool_ingest.spread_runs[0]
    russian = {pool_ingest.site.url(f"/notice/{n}") for n in RUSSIAN}
    # all 12 Russian articles waited for a model after the ingest, and still do
    assert pool_ingest.pending_after_failure == russian
    assert failed_spread["state"]["type"] == "FAILED"
    message = failed_spread["state"]["message"]
    assert "12 articles stayed untranslated" in message
    assert f"no translation model for ru (12 articles) on worker host {socket.gethostname()}" in (
        message
    )
    # the batch got two runs (tries=2), both failed on the missing model
    failed_batches = [r for r in pool_ingest.batch_runs if r["state"]["type"] == "FAILED"]
    assert [sorted(r["parameters"]["urls"]) for r in failed_batches] == [sorted(russian)] * 2
    assert all("no translation model for ru" in r["state"]["message"] for r in failed_batches)


def test_the_backlog_spread_over_the_pool_translates_each_article_once(pool_ingest):
    spread = pool_ingest.spread_runs[1]
    assert spread["state"]["type"] == "COMPLETED", spread["state"]["message"]
    russian = {pool_ingest.site.url(f"/notice/{n}") for n in RUSSIAN}
    batches = [r for r in pool_ingest.batch_runs if r["state"]["type"] == "COMPLETED"]
    assert {r["work_pool_name"] for r in batches} == {"newsflow"}
    # several runs, each article in exactly one of them
    assert len(batches) == len(russian) // BATCH_SIZE
    given = [url for run in batches for url in run["parameters"]["urls"]]
    assert sorted(given) == sorted(russian)
    with duckdb.connect(str(pool_ingest.warehouse), read_only=True) as conn:
        statuses = conn.execute(
            "SELECT translation_status, translation_model, count(*), count(title_en), "
            "count(DISTINCT url) FROM articles GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        paragraphs = conn.execute(
            "SELECT count(DISTINCT url), count(*) FROM paragraphs WHERE model IS NOT NULL"
        ).fetchone()
        run = conn.execute(
            "SELECT state, translated FROM runs WHERE flow = 'translate-on-pool' "
            "ORDER BY started_at"
        ).fetchall()
    done = len(russian)
    assert statuses == [
        ("done", "argos:ru-en@0.1", done, done, done),
        ("not_needed", None, ARTICLES - done, ARTICLES - done, ARTICLES - done),
    ]
    assert paragraphs == (done, done)  # one paragraph each, written once
    assert run == [("Failed", 0), ("Completed", done)]
