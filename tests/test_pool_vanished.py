"""A pool worker that vanishes with its machine mid-run: its run ends Crashed, the pool ingest
ends and says so, and the other worker commits every article once.

A real local Prefect stack with two process workers; one is killed with SIGKILL together with
its flow run and page workers while its chunk run is fetching, as when a machine is lost. The
automation that `newsflow serve` sets up marks the silent run Crashed once no heartbeat came
for NEWSFLOW_UNRESPONSIVE_AFTER seconds (60 here, Prefect's minimum heartbeat being 30).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
import yaml
from hostile_site import HostileSite, Request, response

from flows.serve import LocalStack, descendants, free_port
from flows.unresponsive import UNRESPONSIVE_ENV, allowed_silence

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = 120
SILENCE = 60
pytestmark = pytest.mark.e2e


def _page(number: int) -> bytes:
    return response(
        f"<html><head><title>Ferry notice {number}</title></head><body><article>"
        f"<h1>Ferry notice {number}</h1><p>Notice {number}: the ferry to Aktau leaves from "
        f"berth {number % 9} on day {number % 28 + 1}, the port of Baku said, and passengers "
        f"should arrive two hours early for the checks at gate {number % 5}.</p>"
        "</article></body></html>"
    )


def _chunk_runs(api: str) -> list[dict]:
    return httpx.post(
        f"{api}/flow_runs/filter", json={"flows": {"name": {"any_": ["ingest-chunks"]}}}
    ).json()


def _processes_of_run(run_id: str) -> list[int]:
    """The processes started for a flow run: those whose environment names it."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"PREFECT__FLOW_RUN_ID={run_id}".encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _vanish(run_id: str) -> None:
    """SIGKILL the worker that runs a flow run, with everything below it: a lost machine."""
    run_processes = _processes_of_run(run_id)
    top = next(pid for pid in run_processes if _parent(pid) not in run_processes)
    worker = _parent(top)
    for pid in [worker, *descendants(worker)]:
        os.kill(pid, signal.SIGKILL)


def test_a_vanished_workers_run_ends_crashed_and_the_pool_ingest_ends_saying_so(tmp_path):
    served = []
    with HostileSite() as site:

        def article(request: Request) -> bytes:
            served.append(request.path)
            site.wait(0.2)  # slow enough that the ingest is still fetching when a worker goes
            return _page(int(request.path.rsplit("/", 1)[1]))

        site.serve_sitemap([f"/notice/{n}" for n in range(ARTICLES)], article)
        source = {
            "id": "ferries",
            "name": "Ferries",
            "kind": "sitemap",
            "base_url": site.base_url,
            "sitemap_url": "/sitemap.xml",
            "politeness": {"delay_seconds": 0, "max_per_host": 2, "retries": 0},
        }
        sources = tmp_path / "sources.yaml"
        sources.write_text(yaml.safe_dump({"sources": [source]}), encoding="utf-8")
        warehouse = tmp_path / "newsflow.duckdb"
        env = {
            "NEWSFLOW_SOURCES": str(sources),
            "NEWSFLOW_DB": str(warehouse),
            "NEWSFLOW_WORKERS": "0",
            UNRESPONSIVE_ENV: str(SILENCE),
        }
        stack = LocalStack(
            home=tmp_path / "prefect", port=free_port(), extra_env=env, workers=2, worker_limit=1
        )
        with stack:
            script = (
                "import asyncio, json; from flows.pool import ingest_on_pool\n"
                "state = asyncio.run(ingest_on_pool(workers=2, chunk_size=10, return_state=True))\n"
                "print(json.dumps({'type': state.type.value, 'message': state.message}))\n"
            )
            parent = subprocess.Popen(
                [sys.executable, "-c", script],
                cwd=ROOT,
                env=stack.env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                running = [r for r in _chunk_runs(stack.api_url) if r["state_type"] == "RUNNING"]
                if running and len(served) >= 10:
                    break
                assert parent.poll() is None, parent.communicate()
                time.sleep(0.2)
            else:
                pytest.fail("no chunk run was fetching")
            victim = running[0]
            _vanish(victim["id"])
            served_at_kill = len(served)
            killed_at = time.monotonic()
            out, err = parent.communicate(timeout=SILENCE + 240)
            waited = time.monotonic() - killed_at
            assert parent.returncode == 0, err[-3000:]
            runs = {r["id"]: r for r in _chunk_runs(stack.api_url)}

    assert served_at_kill < ARTICLES  # the worker went while the ingest was fetching
    ended = json.loads(out.strip().splitlines()[-1])
    crashed = runs[victim["id"]]["state"]
    # the silent run is marked Crashed by the server's automation, not left Running
    assert crashed["type"] == "CRASHED"
    assert "no heartbeat" in crashed["message"]
    assert waited >= SILENCE - 35  # after the silence (its last heartbeat was before the kill)
    # the pool ingest ends, failed, naming the run that did not complete
    assert ended["type"] == "FAILED"
    assert victim["name"] in ended["message"] and "Crashed" in ended["message"]
    survivor = next(r for r in runs.values() if r["id"] != victim["id"])
    assert survivor["state"]["type"] == "COMPLETED"
    # the other worker took over the vanished run's leases: every article, once
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        stored = conn.execute("SELECT count(*), count(DISTINCT url) FROM articles").fetchone()
    assert stored == (ARTICLES, ARTICLES)


@pytest.mark.parametrize(
    ("value", "problem"), [("soon", "number of seconds"), ("45", "at least 60")]
)
def test_the_allowed_silence_is_checked_before_anything_starts(value, problem):
    with pytest.raises(ValueError, match=problem):
        allowed_silence(value)
    assert allowed_silence(None).total_seconds() == 150
