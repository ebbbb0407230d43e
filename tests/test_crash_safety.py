"""Crash-safe chunks: a kill -9 loses at most the chunks in flight, and two runs share the work.

`newsflow ingest` runs as a real subprocess against a 300-article sitemap on 127.0.0.1, with
the tests' Prefect API; the site counts every request it receives.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from hostile_site import HostileSite, Request, response, urlset

from flows.cli import main
from warehouse import store

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

        paths = [f"/news/{n}" for n in range(ARTICLES)]
        for path in paths:
            site.route(path, article)
        listing = urlset([site.url(p) for p in paths])
        site.route("/sitemap.xml", response(listing, content_type="application/xml"))
        site.route("/robots.txt", response("User-agent: *\n", content_type="text/plain"))
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


def _spawn() -> subprocess.Popen[bytes]:
    """`newsflow ingest` in its own process group, as a user would start it."""
    command = [sys.executable, "-m", "flows.cli", "ingest", "--chunk-size", str(CHUNK)]
    return subprocess.Popen(
        command,
        cwd=Path(__file__).resolve().parents[1],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
    # one chunk being fetched and one being finished when the kill came, at most
    assert len(again) <= 2 * CHUNK
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
