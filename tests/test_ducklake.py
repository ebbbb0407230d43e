"""Two workers, one DuckLake: the same warehouse as one process on a DuckDB file, kill -9 included.

A throwaway PostgreSQL cluster on 127.0.0.1 holds the lake's catalog and a temporary directory
its Parquet files. The fixture site and a 2,000-article site are ingested once by one
`newsflow ingest` into a DuckDB file, and once by two `newsflow ingest` workers at the same
time, each in its own working directory, into the lake; one worker is killed with SIGKILL
midway and the other takes over its leased chunks. The workers have no translation model, so
the Russian articles wait on the lake for `newsflow translate`; the other commands (export,
digest, reprocess, maintenance) then run on the lake the workers left, through the CLI.
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

import duckdb
import pytest
import yaml
from hostile_site import HostileSite, response, urlset
from pg_cluster import cluster

from core.settings import DEFAULT_DB
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
    survivor_log: str  # the end of the surviving worker's log


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
    """`newsflow ingest` in its own directory and process group, as on a worker machine.

    Its log goes to workdir/stderr.log (a pipe nobody reads would stop it once full).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    with (workdir / "stderr.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "ingest", "--chunk-size", str(CHUNK)],
            cwd=workdir,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )


def _log(workdir: Path) -> str:
    """The end of a worker's log, for a failure message."""
    return (workdir / "stderr.log").read_text(errors="replace")[-3000:]


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
            # no translation model, whatever this session installed: the backlog waits
            "ARGOS_PACKAGES_DIR": str(tmp / "no-models"),
        }
        reference = tmp / "reference.duckdb"
        alone = _spawn(tmp / "alone", {**common, "NEWSFLOW_DB": str(reference)})
        assert alone.wait(timeout=300) in (0, 1), _log(tmp / "alone")
        before = _articles(corpus)

        lake = {
            **common,
            "NEWSFLOW_WAREHOUSE": f"ducklake:{catalog}",
            "NEWSFLOW_LAKE_DATA": str(tmp / "lake-data"),
        }
        workdirs = [tmp / "worker-1", tmp / "worker-2"]
        first, second = (_spawn(workdir, lake) for workdir in workdirs)
        try:
            deadline = time.monotonic() + 600
            while sum((_articles(corpus) - before).values()) < ARTICLES // 3:
                assert first.poll() is None, _log(workdirs[0])
                assert time.monotonic() < deadline, "the workers made no progress"
                time.sleep(0.2)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
            killed_after = sum((_articles(corpus) - before).values())
            assert second.poll() is None, _log(workdirs[1])
            assert second.wait(timeout=600) in (0, 1), _log(workdirs[1])
        finally:  # a failed check leaves no worker behind
            for worker in (first, second):
                if worker.poll() is None:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait()
        yield Ingests(reference, lake, corpus, before, killed_after, _log(workdirs[1]))


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


def test_only_the_killed_workers_chunks_in_flight_are_fetched_twice(ingests):
    requests = _articles(ingests.corpus) - ingests.requests_before
    again = [path for path, count in requests.items() if count > 1]
    # only what the killed worker had in flight: a chunk fetching, one processing, one committing
    assert len(again) <= 3 * CHUNK, ingests.survivor_log


def test_sql_and_search_read_the_lake(ingests, monkeypatch, capsys):
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", ingests.lake["NEWSFLOW_WAREHOUSE"])
    query = "SELECT count(*) AS stories, count(cluster_id) AS clustered FROM articles_en"
    assert main(["sql", query, "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["stories"] == row["clustered"] > ARTICLES  # every story has its cluster
    assert main(["search", "Bulletin 1234"]) == 0
    assert "/bulletin/1234" in capsys.readouterr().out.splitlines()[0]


def _lake_rows(ingests: Ingests, monkeypatch: pytest.MonkeyPatch, sql: str) -> list[tuple]:
    with _warehouse(ingests.lake, monkeypatch) as conn:
        return _query(conn, sql)


def test_export_writes_the_lakes_stories_as_parquet(ingests, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", ingests.lake["NEWSFLOW_WAREHOUSE"])
    stories = _lake_rows(ingests, monkeypatch, "SELECT url FROM articles_en ORDER BY url")
    assert main(["export", str(tmp_path / "export")]) == 0
    assert f"exported {len(stories)} stories" in capsys.readouterr().out
    files = str(tmp_path / "export" / "date=*" / "source_id=*" / "*.parquet")
    assert duckdb.sql(f"SELECT url FROM '{files}' ORDER BY url").fetchall() == stories


def test_digest_of_the_fetch_day_comes_from_the_lake(ingests, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", ingests.lake["NEWSFLOW_WAREHOUSE"])
    [(day,)] = _lake_rows(ingests, monkeypatch, "SELECT max(fetched_at)::DATE FROM articles")
    assert main(["digest", "--day", day.isoformat(), "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split()[1] == "stories:"
    assert "Bulletin 1234" in (tmp_path / f"{day.isoformat()}.html").read_text(encoding="utf-8")


# The flows' commands are checked by what they leave on the lake, not by what they print:
# Prefect's console log keeps the stream of the first flow run's test, which capsys closes.
def test_translate_completes_the_lakes_backlog_once_a_model_is_installed(
    ingests, ru_model, monkeypatch
):
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", ingests.lake["NEWSFLOW_WAREHOUSE"])
    pending = "SELECT count(*) FROM articles WHERE translation_status = 'pending_model'"
    [(waiting,)] = _lake_rows(ingests, monkeypatch, pending + " AND language = 'ru'")
    assert waiting > 0  # the workers had no model
    assert main(["translate"]) == 0
    assert _lake_rows(ingests, monkeypatch, pending + " AND language = 'ru'") == [(0,)]
    done = "SELECT count(*) FROM articles WHERE translation_status = 'done' AND language = 'ru'"
    assert _lake_rows(ingests, monkeypatch, done) == [(waiting,)]


def test_reprocess_rewrites_a_source_on_the_lake_from_its_archive(ingests, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", ingests.lake["NEWSFLOW_WAREHOUSE"])
    source = "SELECT url, title, text FROM articles WHERE source_id = 'caucasian-knot-en'"
    stored = sorted(_lake_rows(ingests, monkeypatch, source))
    assert stored
    assert main(["reprocess", "--source", "caucasian-knot-en"]) == 0
    assert sorted(_lake_rows(ingests, monkeypatch, source)) == stored  # the same page path
    runs = "SELECT state FROM runs WHERE flow = 'reprocess'"
    assert _lake_rows(ingests, monkeypatch, runs) == [("Completed",)]


def test_maintenance_compacts_and_checkpoints_the_lake(ingests, monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", ingests.lake["NEWSFLOW_WAREHOUSE"])
    monkeypatch.chdir(tmp_path)  # where a DuckDB file would be made by mistake
    articles = _lake_rows(ingests, monkeypatch, ARTICLE_SET)
    assert main(["maintenance"]) == 0  # every source's canary passes on the lake's archive
    assert not (tmp_path / DEFAULT_DB).exists()
    runs = "SELECT count(*) FROM runs WHERE flow = 'maintenance'"
    assert _lake_rows(ingests, monkeypatch, runs) == [(1,)]
    assert _lake_rows(ingests, monkeypatch, ARTICLE_SET) == articles
