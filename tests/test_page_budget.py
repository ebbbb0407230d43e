"""Page workers: a page over its CPU budget ends `too_costly` in its worker and the others go
on; workers die with the run that started them, however it dies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hostile_site import HostileSite, feed, response
from prefect.settings import PREFECT_API_URL
from test_hostile_values import article

from connectors.config import Limits, Source
from pipeline.pages import INLINE_PAGES, OVER_CPU, PageProcessor, orphaned_workers
from pipeline.workers import RESEND_SECONDS, OverCpu, thread_cpu_budget


def test_a_page_over_its_cpu_budget_is_too_costly_and_the_rest_of_the_batch_is_stored():
    """60,000 paragraphs take seconds of CPU, under the element cap: the 1 s CPU limit ends it."""
    limits = Limits(page_cpu_seconds=1.0, max_page_elements=10_000_000)
    source = Source("costly", "Costly", "file", "https://costly.example/", limits=limits)
    now = datetime.now(UTC)
    heavy = "<html><body><article>" + "<p>word word word</p>" * 60_000 + "</article></body></html>"
    pages = [("https://costly.example/heavy", heavy, "text/html", now, None, None, None)]
    pages += [
        (f"https://costly.example/{n}", article(n), "text/html", now, None, None, None)
        for n in range(INLINE_PAGES)
    ]
    started = time.monotonic()
    with PageProcessor(workers=2) as processor:
        results = asyncio.run(processor.process(source, pages))
    assert (results[0].outcome, results[0].error) == ("too_costly", OVER_CPU)
    assert all(r.article is not None for r in results[1:])
    assert time.monotonic() - started < 60  # a budget of 1 s, the workers' start and a margin


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_the_in_process_budget_holds_when_its_first_exception_is_swallowed():
    """OverCpu can land where Python ignores exceptions (a weakref callback during a
    collection): the watch sends it again, so the page still stops near its budget."""
    started = time.process_time()
    caught = 0
    with pytest.raises(OverCpu), thread_cpu_budget(0.2):
        while True:
            try:
                while time.process_time() - started < 10:  # a page that would take 10 s
                    pass
                break
            except OverCpu:  # the first one is ignored, as a weakref callback would
                caught += 1
                if caught == 2:
                    raise
    assert time.process_time() - started < 0.2 + 3 * RESEND_SECONDS


@pytest.mark.e2e
def test_a_killed_run_leaves_no_page_worker_behind(prefect_api, tmp_path, monkeypatch):
    with HostileSite() as site:
        site.route("/robots.txt", response("User-agent: *\n", content_type="text/plain"))
        for n in range(200):
            site.route(f"/a/{n}", response(article(n)))
        links = [site.url(f"/a/{n}") for n in range(200)]
        site.route("/feed.xml", response(feed(links), content_type="application/rss+xml"))
        sources = tmp_path / "sources.yaml"
        source = {"id": "many", "kind": "feed", "base_url": site.base_url, "feed_url": "/feed.xml"}
        sources.write_text(yaml.safe_dump({"sources": [source]}), encoding="utf-8")
        env = {
            **os.environ,
            "NEWSFLOW_SOURCES": str(sources),
            "NEWSFLOW_DB": str(tmp_path / "w.duckdb"),
            "NEWSFLOW_POLITENESS": "timeout_seconds=5,retries=0,delay_seconds=0.02",
            "NEWSFLOW_WORKERS": "2",
            "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        }
        command = [sys.executable, "-m", "flows.cli", "ingest", "--chunk-size", "50"]
        run = subprocess.Popen(
            command,
            cwd=Path(__file__).resolve().parents[1],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        helpers: list[int] = []
        while len(helpers) < 3:  # two page workers and the resource tracker
            assert run.poll() is None, "the run ended before its workers were seen"
            assert time.monotonic() < deadline, "no page workers started"
            helpers = [
                pid
                for pid in _children(run.pid)
                if b"multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes()
            ]
            time.sleep(0.05)
        os.kill(run.pid, signal.SIGKILL)  # the run alone, as the OOM killer would
        run.wait()
        deadline = time.monotonic() + 10
        while any(map(_alive, helpers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [Path(f"/proc/{pid}/cmdline").read_bytes()[:200] for pid in helpers if _alive(pid)]
        assert not left
        assert orphaned_workers() == []
