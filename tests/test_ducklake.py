"""Two workers, one DuckLake: the same warehouse as one process on a DuckDB file, kill -9 included.

A throwaway PostgreSQL cluster on 127.0.0.1 holds the lake's catalog and a temporary directory
its Parquet files. The fixture site and a 2,000-article site are ingested once by one
`newsflow ingest` into a DuckDB file, and once by two `newsflow ingest` workers at the same
time, each in its own working directory, into the lake; one worker is killed with SIGKILL
midway and the other takes over its leased chunks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hostile_site import HostileSite, response, urlset
from pg_cluster import cluster

from flows.cli import main
from warehouse import store

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = 2000
CHUNK = 100
pytestmark = pytest.mark.e2e


def _page(number: int) -> bytes:
    words = " ".join(f"w{(number * 7919 + i * 104729) % 100003}" for i in range(40))
    return response(
        f"<html><head><title>Bulletin {number}</title></head><body><article>"
        f"<h1>Bulletin {number}</h1><p>Bulletin {number} from the district office: {words}.</p>"
        f"<p>Officials said the figures for item {number} would be published next week, "
        f"after the council has checked them against the ledger of {number % 97}.</p>"
        "</article></body></html>"
    )


@dataclass
class Ingests:
    """What the module's ingests left: the two warehouses and the site's request counts."""

    reference: Path  # the single-process DuckDB file
    lake: dict[str, str]  # the env that points at the lake
    corpus: HostileSite
    requests_before: Counter[str]  # the corpus's article requests of the reference run
    killed_after: int  # article requests when the first worker was killed


def _sources(path: Path, fixture_base: str, corpus: HostileSite) -> Path:
    """The shipped sources pointed at the fixture site, plus the 2,000-article sitemap."""
    document = yaml.safe_load((ROOT / "sources.yaml").read_text(encoding="utf-8"))
    for source in document["sources"]:
        source["base_url"] = f"{fixture_base}/{source['id']}"
    document["sources"].append(
        {
            "id": "bulletins",
            "name": "Bulletins",
            "kind": "sitemap",
            "base_url": corpus.base_url,
            "sitemap_url": "/sitemap.xml",
            "language": "en",
            "limits": {"max_urls_per_run": ARTICLES},
            "politeness": {"delay_seconds": 0, "max_per_host": 8},
        }
    )
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _spawn(workdir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`newsflow ingest` in its own directory and process group, as on a worker machine."""
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "ingest", "--chunk-size", str(CHUNK)],
        cwd=workdir,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _articles(site: HostileSite) -> Counter[str]:
    return Counter(p for p in site.paths() if p.startswith("/bulletin/"))


@pytest.fixture(scope="module")
def ingests(site, prefect_api, tmp_path_factory) -> Ingests:
    from prefect.settings import PREFECT_API_URL

    tmp = tmp_path_factory.mktemp("ducklake")
    with HostileSite() as corpus, cluster() as catalog:
        for n in range(ARTICLES):
            corpus.route(f"/bulletin/{n}", _page(n))
        listing = urlset([corpus.url(f"/bulletin/{n}") for n in range(ARTICLES)])
        corpus.route("/sitemap.xml", response(listing, content_type="application/xml"))
        corpus.route("/robots.txt", response("User-agent: *\n", content_type="text/plain"))
        common = {
            "NEWSFLOW_SOURCES": str(_sources(tmp / "sources.yaml", site.base_url, corpus)),
            # generous: a loaded machine must not time out an ordinary page in one run only
            "NEWSFLOW_POLITENESS": "timeout_seconds=5,retries=0,delay_seconds=0",
            "NEWSFLOW_WORKERS": "0",
            "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        }
        reference = tmp / "reference.duckdb"
        alone = _spawn(tmp / "alone", {**common, "NEWSFLOW_DB": str(reference)})
        assert alone.wait(timeout=300) in (0, 1), alone.stderr.read().decode()[-3000:]
        before = _articles(corpus)

        lake = {
            **common,
            "NEWSFLOW_WAREHOUSE": f"ducklake:{catalog}",
            "NEWSFLOW_LAKE_DATA": str(tmp / "lake-data"),
        }
        first, second = _spawn(tmp / "worker-1", lake), _spawn(tmp / "worker-2", lake)
        try:
            deadline = time.monotonic() + 600
            while sum((_articles(corpus) - before).values()) < ARTICLES // 3:
                assert first.poll() is None, first.stderr.read().decode()[-3000:]
                assert time.monotonic() < deadline, "the workers made no progress"
                time.sleep(0.05)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
            killed_after = sum((_articles(corpus) - before).values())
            assert second.poll() is None, second.stderr.read().decode()[-3000:]
            status = second.wait(timeout=600)
            assert status in (0, 1), second.stderr.read().decode()[-3000:]
        finally:  # a failed check leaves no worker behind
            for worker in (first, second):
                if worker.poll() is None:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait()
        yield Ingests(reference, lake, corpus, before, killed_after)


def _warehouse(path_or_env: Path | dict[str, str], monkeypatch: pytest.MonkeyPatch):
    """Point this process at one of the two warehouses, read-only."""
    if isinstance(path_or_env, Path):
        monkeypatch.delenv("NEWSFLOW_WAREHOUSE", raising=False)
        monkeypatch.setenv("NEWSFLOW_DB", str(path_or_env))
    else:
        monkeypatch.setenv("NEWSFLOW_WAREHOUSE", path_or_env["NEWSFLOW_WAREHOUSE"])
    return store.connect(read_only=True)


def _query(conn, sql: str) -> list[tuple]:
    return conn.execute(sql).fetchall()


ARTICLE_SET = "SELECT url, source_id, title, language, duplicate_of FROM articles ORDER BY url"
STATES = "SELECT url, state, resolved_url FROM frontier ORDER BY url"


def test_two_workers_on_ducklake_store_what_one_process_stores_on_a_file(ingests, monkeypatch):
    with _warehouse(ingests.reference, monkeypatch) as conn:
        expected_articles, expected_states = _query(conn, ARTICLE_SET), _query(conn, STATES)
    with _warehouse(ingests.lake, monkeypatch) as conn:
        articles, states = _query(conn, ARTICLE_SET), _query(conn, STATES)
        [(runs,)] = _query(conn, "SELECT count(DISTINCT run_id) FROM fetch_log")
    assert len(expected_articles) > ARTICLES  # the corpus and the fixture site's articles
    differ = set(articles) ^ set(expected_articles)
    urls = {row[0] for row in differ}
    assert articles == expected_articles, (  # same rows, so no URL stored twice
        sorted(differ),
        [r for r in states if r[0] in urls],
        [r for r in expected_states if r[0] in urls],
    )
    assert states == expected_states  # every URL once, in the same recorded state
    assert runs == 2  # both workers fetched and committed


def test_the_killed_workers_chunks_are_taken_again_and_nothing_is_lost(ingests):
    requests = _articles(ingests.corpus) - ingests.requests_before
    assert 0 < ingests.killed_after < ARTICLES
    assert set(requests) == {f"/bulletin/{n}" for n in range(ARTICLES)}


@pytest.mark.xfail(
    reason="known defect: on DuckLake, in some runs up to 6 chunks (not the 3 a worker has "
    "in flight) were fetched again after a kill, on a quiet machine; cause not found yet",
    strict=False,
)
def test_only_the_killed_workers_chunks_in_flight_are_fetched_twice(ingests):
    requests = _articles(ingests.corpus) - ingests.requests_before
    again = [path for path, count in requests.items() if count > 1]
    # only what the killed worker had in flight: a chunk fetching, one processing, one committing
    assert len(again) <= 3 * CHUNK


def test_sql_and_search_read_the_lake(ingests, monkeypatch, capsys):
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", ingests.lake["NEWSFLOW_WAREHOUSE"])
    query = "SELECT count(*) AS stories, count(cluster_id) AS clustered FROM articles_en"
    assert main(["sql", query, "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["stories"] == row["clustered"] > ARTICLES  # every story has its cluster
    assert main(["search", "Bulletin 1234"]) == 0
    assert "/bulletin/1234" in capsys.readouterr().out.splitlines()[0]
