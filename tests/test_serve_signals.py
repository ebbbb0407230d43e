"""Stopping `newsflow serve` as operators do: Ctrl-C, kill -INT, kill -TERM; then starting again.

Each stop must end server, worker and the flow run in flight within 30 s, leave no process
behind, leave the interrupted run Crashed or Cancelled (not Running), and free the port for the
next `newsflow serve`, which is the start of the next case. (A one-off flow command with no
server configured starts none: it runs in its own process, tests/test_cli_usage.py.)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from conftest import start_deployment

from flows.serve import descendants, free_port, port_is_free
from warehouse.runners import running

pytestmark = pytest.mark.e2e

STOPPED_WITHIN = 30.0
PROJECT = Path(__file__).resolve().parents[1]


class _Hang(BaseHTTPRequestHandler):
    """Every request waits until the test ends: a site that died mid-run keeps a run in flight."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.release.wait(300)  # type: ignore[attr-defined]

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def hanging_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hang)
    server.daemon_threads = True
    server.release = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.release.set()  # type: ignore[attr-defined]
    server.shutdown()


@pytest.fixture(scope="module")
def newsflow_env(hanging_site, tmp_path_factory) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(
        NEWSFLOW_BASE_URL=hanging_site,
        NEWSFLOW_POLITENESS="timeout_seconds=200,retries=0,delay_seconds=0",
        NEWSFLOW_DB=str(tmp_path_factory.mktemp("warehouse") / "w.duckdb"),
        PREFECT_HOME=str(tmp_path_factory.mktemp("prefect-home")),
    )
    return env


def _newsflow(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """newsflow in a process group of its own, as a shell runs a foreground command."""
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _served(env: dict[str, str], home: Path, port: int) -> subprocess.Popen[str]:
    serve = _newsflow(env, "serve", "--port", str(port), "--home", str(home))
    for line in serve.stdout:  # type: ignore[union-attr]
        if "newsflow is served" in line:
            return serve
    raise AssertionError(f"newsflow serve exited {serve.wait()} before serving")


def _api(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def _run_in_flight(port: int) -> str:
    """A daily run, started as the UI's Run button does, once the worker has it Running."""
    api = _api(port)
    _, run_id = start_deployment(api, "ingest/daily")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if httpx.get(f"{api}/flow_runs/{run_id}").json()["state"]["type"] == "RUNNING":
            return run_id
        time.sleep(1)
    raise AssertionError("the worker did not start the run within 120 s")


def _state(port: int, run_id: str) -> str:
    return httpx.get(f"{_api(port)}/flow_runs/{run_id}").json()["state"]["type"]


def _wait_gone(pids: list[int]) -> list[int]:
    deadline = time.monotonic() + STOPPED_WITHIN
    while time.monotonic() < deadline and any(running(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if running(p)]


STOPS = {
    "Ctrl-C (SIGINT to the process group)": lambda p: os.killpg(p.pid, signal.SIGINT),
    "kill -INT": lambda p: p.send_signal(signal.SIGINT),
    "kill -TERM": lambda p: p.send_signal(signal.SIGTERM),
}


def test_each_stop_ends_everything_in_30_s_and_the_next_serve_starts_on_the_same_port(
    newsflow_env, tmp_path
):
    port, home = free_port(), tmp_path / "prefect"
    serve = _served(newsflow_env, home, port)
    interrupted: list[str] = []
    try:
        for how, stop in STOPS.items():
            if interrupted:  # this serve is the restart after the previous stop
                assert _state(port, interrupted[-1]) in {"CRASHED", "CANCELLED"}, how
            interrupted.append(_run_in_flight(port))
            tree = descendants(serve.pid)
            assert len(tree) >= 3, "server, worker and the flow run's process"
            stop(serve)
            assert serve.wait(timeout=STOPPED_WITHIN) == 0, how
            assert _wait_gone(tree) == [], f"{how} left processes behind"
            assert port_is_free(port), how
            serve = _served(newsflow_env, home, port)
        assert _state(port, interrupted[-1]) in {"CRASHED", "CANCELLED"}
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)


def test_a_taken_port_is_reported_before_anything_starts(newsflow_env, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        serve = _newsflow(newsflow_env, "serve", "--port", str(port), "--home", str(tmp_path))
        output, _ = serve.communicate(timeout=60)
    assert serve.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in output
    assert "newsflow is served" not in output
    assert not (tmp_path / "server.log").exists()
