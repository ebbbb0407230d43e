"""End to end as users run it: a Prefect server, prefect.yaml deployed, a worker, the UI.

The backfill is started through the REST API exactly as the UI's Run button does, and the
custom-run page is opened in headless Chromium (Debian's, installed by `make test`).
"""

import shutil
import socket
import subprocess
import time
from pathlib import Path

import duckdb
import httpx
import pytest
from conftest import FAST_POLITENESS

from fixture_site import manifest
from flows.serve import LocalStack

WEEK = {"since": "2025-10-01", "until": "2025-10-07"}
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
OUTPUT = Path(__file__).resolve().parents[1] / "test-output"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def stack(site, tmp_path_factory):
    """A real local Prefect stack whose worker ingests from the fixture site."""
    home = tmp_path_factory.mktemp("prefect-home")
    db = home / "newsflow.duckdb"
    env = {
        "NEWSFLOW_BASE_URL": site.base_url,
        "NEWSFLOW_POLITENESS": FAST_POLITENESS,
        "NEWSFLOW_DB": str(db),
    }
    with LocalStack(home=home, port=_free_port(), extra_env=env) as running:
        yield running


def _start(stack, deployment_name: str, parameters: dict) -> tuple[dict, str]:
    """Create a flow run of a deployment through the REST API, as the UI's Run button does."""
    deployment = httpx.get(f"{stack.api_url}/deployments/name/{deployment_name}").json()
    created = httpx.post(
        f"{stack.api_url}/deployments/{deployment['id']}/create_flow_run",
        json={"parameters": parameters},
    )
    created.raise_for_status()
    return deployment, created.json()["id"]


def _wait(stack, run_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = httpx.get(f"{stack.api_url}/flow_runs/{run_id}").json()
        if run["state"]["type"] in TERMINAL:
            return run
        assert stack.dead_process() is None, f"the {stack.dead_process()} died"
        time.sleep(1)
    raise AssertionError(f"flow run {run_id} did not finish in {timeout} s")


@pytest.fixture(scope="module")
def backfill(stack):
    """The backfill deployment run for one week, as the UI's Run form submits it."""
    deployment, run_id = _start(stack, "ingest/backfill", WEEK)
    return deployment, _wait(stack, run_id)


def _week_urls(site) -> set[str]:
    """The fixture articles published in WEEK, as the manifest lists them."""
    return {
        site.url(e["source_id"], e["path"])
        for e in manifest()
        if WEEK["since"] <= e["published"] <= WEEK["until"]
    }


def test_the_backfill_deployment_runs_on_the_worker_and_loads_the_week(stack, backfill, site):
    _, run = backfill
    assert run["state"]["type"] == "COMPLETED", run["state"]
    assert run["parameters"] == WEEK
    expected = _week_urls(site)
    with duckdb.connect(stack.extra_env["NEWSFLOW_DB"], read_only=True) as conn:
        stored = {row[0] for row in conn.execute("select url from articles").fetchall()}
    assert stored == expected


def test_the_run_publishes_a_summary_artifact(stack, backfill, site):
    _, run = backfill
    artifacts = httpx.post(
        f"{stack.api_url}/artifacts/filter",
        json={"artifacts": {"flow_run_id": {"any_": [run["id"]]}}},
    ).json()
    [summary] = [a for a in artifacts if a["type"] == "markdown"]
    for source_id in ("caucasian-knot", "caliber-az", "toutiao"):
        assert source_id in summary["data"]
    for column in ("fetched", "new", "duplicate", "failed", "translated", "duration"):
        assert column in summary["data"]
    [total] = [line for line in summary["data"].splitlines() if "**total**" in line]
    figures = tuple(int(cell) for cell in total.split("|")[2:7])
    with duckdb.connect(stack.extra_env["NEWSFLOW_DB"], read_only=True) as conn:
        row = conn.execute(
            "select fetched, new, duplicate, failed, translated from runs where run_id = ?",
            [run["id"]],
        ).fetchone()
    assert figures == row  # the UI and the warehouse tell the same story
    assert figures[1] == len(_week_urls(site))


def test_the_ui_shows_the_backfill_parameters_in_its_run_form(stack, backfill):
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: `make test` installs it"
    deployment, _ = backfill
    url = f"{stack.ui_url}/deployments/deployment/{deployment['id']}/run"
    OUTPUT.mkdir(exist_ok=True)
    screenshot = OUTPUT / "backfill-run-form.png"
    profile = OUTPUT / "chromium-profile"
    flags = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",
        "--window-size=1280,1600",
    ]
    dom = subprocess.run(
        [*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120
    ).stdout
    subprocess.run([*flags, f"--screenshot={screenshot}", url], capture_output=True, timeout=120)
    for parameter in ("sources", "since", "until"):
        assert parameter in dom, f"parameter field {parameter!r} not on {url}"
    assert "First publication day to load" in dom  # descriptions from the flow's docstring
    assert screenshot.exists() and screenshot.stat().st_size > 10_000


def test_a_scheduled_run_and_a_backfill_at_once_both_complete(stack, backfill):
    import duckdb

    runs = [_start(stack, "ingest/daily", {})[1], _start(stack, "ingest/backfill", WEEK)[1]]
    states = [_wait(stack, run_id)["state"] for run_id in runs]
    assert [s["type"] for s in states] == ["COMPLETED", "COMPLETED"], states
    with duckdb.connect(stack.extra_env["NEWSFLOW_DB"], read_only=True) as conn:
        total, distinct = conn.execute(
            "select count(*), count(distinct url) from articles"
        ).fetchone()
    assert total == distinct == len(manifest())
