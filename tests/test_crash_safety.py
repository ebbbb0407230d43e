"""Crash-safe chunks: a kill -9 loses at most the chunks in flight, and two runs share the work.

`newsflow ingest` runs as a real subprocess against a 300-article sitemap on 127.0.0.1, with
the tests' Prefect API; the site counts every request it receives.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from hostile_site import HostileSite, Request, response

from flows.cli import main
from flows.serve import descendants
from warehouse import runners, store

ARTICLES = 300
CHUNK = 30
pytestmark = pytest.mark.e2e


def _page(number: int) -> bytes:
    paragraphs = "".join(
        f"<p>Dispatch {number}, part {i}: the regional council met on Monday to discuss the "
        f"repair of road number {number} and the schools along it, officials said.</p>"
        for i in range(5)
    )
    return response(
        f"<html><head><title>Road {number} repairs</title></head>"
        f"<body><article><h1>Road {number} repairs</h1>{paragraphs}</article></body></html>"
    )


@pytest.fixture
def corpus(prefect_api, tmp_path, monkeypatch):
    """A slow-ish 300-article site, its sources.yaml, a warehouse path and the env of a run."""
    from prefect.settings import PREFECT_API_URL

    with HostileSite() as site:

        def article(request: Request) -> bytes:
            site.wait(0.02)  # a real site's latency: a run takes a few seconds
            return _page(int(request.path.rsplit("/", 1)[1]))

        site.serve_sitemap([f"/news/{n}" for n in range(ARTICLES)], article)
        source = {"id": "roads", "name": "Roads", "kind": "sitemap", "base_url": site.base_url}
        source["sitemap_url"] = "/sitemap.xml"
        sources = tmp_path / "sources.yaml"
        sources.write_text(yaml.safe_dump({"sources": [source]}), encoding="utf-8")
        env = {
            "NEWSFLOW_SOURCES": str(sources),
            "NEWSFLOW_DB": str(tmp_path / "w.duckdb"),
            "NEWSFLOW_POLITENESS": "timeout_seconds=5,retries=0,delay_seconds=0,max_per_host=4",
            "NEWSFLOW_WORKERS": "0",
            "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("NEWSFLOW_BASE_URL", raising=False)
        yield site


def _spawn(stderr: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """`newsflow ingest` in its own process group, as a user would start it."""
    command = [sys.executable, "-m", "flows.cli", "ingest", "--chunk-size", str(CHUNK)]
    return subprocess.Popen(
        command,
        cwd=Path(__file__).resolve().parents[1],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )


def _article_requests(site: HostileSite) -> Counter[str]:
    return Counter(p for p in site.paths() if p.startswith("/news/"))


def _stored() -> list[str]:
    with store.connect(read_only=True) as conn:
        return [url for (url,) in conn.execute("select url from articles").fetchall()]


def test_a_kill_9_midway_loses_at_most_the_chunks_in_flight(corpus):
    site = corpus
    run = _spawn()
    deadline = time.monotonic() + 120
    while sum(_article_requests(site).values()) < ARTICLES // 2:
        assert run.poll() is None, "the run ended before it was killed"
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    first = _article_requests(site)

    assert main(["ingest", "--chunk-size", str(CHUNK)]) == 0

    requests = _article_requests(site)
    again = [path for path, count in requests.items() if count > 1]
    # the chunks in flight when the kill came, at most: fetching, processing, committing
    assert len(again) <= 3 * CHUNK
    assert set(requests) == {f"/news/{n}" for n in range(ARTICLES)}
    assert 0 < len(first) < ARTICLES
    stored = _stored()
    assert len(stored) == len(set(stored)) == ARTICLES


def test_two_runs_at_once_fetch_every_page_once(corpus):
    site = corpus
    runs = [_spawn(), _spawn()]
    for run in runs:
        assert run.wait(timeout=300) == 0
    requests = _article_requests(site)
    assert set(requests) == {f"/news/{n}" for n in range(ARTICLES)}
    assert max(requests.values()) == 1
    assert sorted(_stored()) == sorted({site.url(f"/news/{n}") for n in range(ARTICLES)})


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB file system for the warehouse (tmpfs; mounting it needs root, as in CI here)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_full_disk_fails_the_run_visibly_and_leaves_the_warehouse_readable(
    corpus, small_disk, monkeypatch
):
    """The run stops with the reason; what was committed stays whole and readable; once space
    is freed, the next run records the dead one as Crashed if its own last write failed too."""
    import random

    site = corpus
    words = random.Random(7)

    def incompressible(request: Request) -> bytes:
        number = int(request.path.rsplit("/", 1)[1])
        text = " ".join(
            "".join(words.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7))
            for _ in range(1500)
        )
        return response(
            f"<html><head><title>Report {number}</title></head><body><article>"
            f"<h1>Report {number}</h1><p>{text}</p></article></body></html>"
        )

    for n in range(ARTICLES):
        site.route(f"/news/{n}", incompressible)
    monkeypatch.setenv("NEWSFLOW_DB", str(small_disk / "w.duckdb"))

    run = _spawn(stderr=subprocess.PIPE)
    _, err = run.communicate(timeout=300)
    assert run.returncode == 1
    assert "No space left on device" in err.decode()
    with store.connect(read_only=True) as conn:
        [(state,)] = conn.execute("select state from runs").fetchall()
        orphans = conn.execute(
            "select count(*) from articles a left join frontier f using (url) "
            "where f.state is distinct from 'stored'"
        ).fetchone()
        stored = conn.execute("select count(*) from articles").fetchone()
    assert state in ("Failed", "Running")  # Running: even the run's last write found no space
    assert orphans == (0,)  # what was committed is whole: every article has its frontier row
    assert stored is not None and stored[0] < ARTICLES

    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    assert main(["ingest", "--chunk-size", str(CHUNK), "--source", "roads"]) == 0
    with store.connect(read_only=True) as conn:
        states = conn.execute("select state from runs order by started_at").fetchall()
        total = conn.execute("select count(*) from articles").fetchone()
    assert states == [("Failed",) if state == "Failed" else ("Crashed",), ("Completed",)]
    assert total == (ARTICLES,)


def test_a_killed_process_not_yet_reaped_holds_no_lease():
    """A process killed with its parent is adopted by a subreaper (`newsflow serve`) and stays a
    zombie until reaped: its leases and Running rows must pass on at once all the same."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    me = f"{socket.gethostname()}:{child.pid}:run"
    assert not runners.is_dead(me)
    child.kill()
    deadline = time.monotonic() + 10
    while runners.running(child.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Path(f"/proc/{child.pid}").exists()  # not reaped: a zombie
    assert runners.is_dead(me)
    assert not runners.is_dead(f"elsewhere:{child.pid}:run")  # another host's: its lease expires
    child.wait()


def _page_workers(parent: int) -> list[int]:
    """A process's page workers: the children multiprocessing spawned (not the Prefect server's)."""
    found = []
    for pid in descendants(parent):
        try:
            spawned = b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if spawned and ppid == parent:
            found.append(pid)
    return found


def test_a_page_worker_killed_midway_costs_no_page_and_no_fetch(corpus, monkeypatch):
    """The OOM killer takes a page worker: the run goes on with a fresh pool, every article is
    stored, and no URL is fetched twice (the chunk in hand is processed again, not refetched)."""
    site = corpus
    monkeypatch.setenv("NEWSFLOW_WORKERS", "2")
    run = _spawn(stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (workers := _page_workers(run.pid)):
        assert run.poll() is None, "the run ended before its page workers started"
        assert time.monotonic() < deadline, "no page worker started"
        time.sleep(0.05)
    os.kill(workers[0], signal.SIGKILL)
    _, err = run.communicate(timeout=300)

    assert run.returncode == 0, err.decode()[-3000:]
    assert "a page worker died" in err.decode()
    requests = _article_requests(site)
    assert set(requests) == {f"/news/{n}" for n in range(ARTICLES)}
    assert max(requests.values()) == 1
    stored = _stored()
    assert len(stored) == len(set(stored)) == ARTICLES


def test_a_page_whose_worker_dies_every_time_is_recorded_crashed_and_the_rest_go_on():
    """While every page worker dies as it starts (a page that kills its worker each time), each
    page of the batch gets its own crashed result instead of failing the chunk; once workers
    live again, the same processor processes pages as before."""
    import asyncio
    import threading
    from datetime import UTC, datetime

    from connectors.config import Source
    from pipeline.pages import INLINE_PAGES, WORKER_DIED, PageProcessor

    source = Source(id="roads", name="Roads", kind="file", base_url="https://roads.example/")
    now = datetime.now(UTC)
    pages = [
        (f"https://roads.example/news/{n}", _page(n).decode(), "text/html", now, None, None, None)
        for n in range(INLINE_PAGES)
    ]
    stop = threading.Event()

    def kill_every_worker() -> None:
        while not stop.is_set():
            for pid in _page_workers(os.getpid()):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    with PageProcessor(workers=2) as processor:
        killer = threading.Thread(target=kill_every_worker, daemon=True)
        killer.start()
        try:
            crashed = asyncio.run(processor.process(source, pages))
        finally:
            stop.set()
            killer.join()
        assert [(r.outcome, r.error) for r in crashed] == [("crashed", WORKER_DIED)] * len(pages)
        again = asyncio.run(processor.process(source, pages))
    assert all(r.article is not None for r in again)
