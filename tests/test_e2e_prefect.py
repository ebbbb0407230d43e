"""End to end as users run it: a Prefect server, prefect.yaml deployed, a worker, the UI.

The backfill is started through the REST API exactly as the UI's Run button does, and the
custom-run page is opened in headless Chromium (Debian's, installed by `make test`).
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
from conftest import FAST_POLITENESS, start_deployment

from fixture_site import manifest
from flows.serve import LocalStack, free_port

pytestmark = pytest.mark.e2e

WEEK = {"since": "2025-10-01", "until": "2025-10-07"}
# The fixture site breaks some pages on purpose (timeouts, 500s, a PDF...): this operator
# tolerates any share of failed URLs, so the run is Completed when every source was read.
BACKFILL = {**WEEK, "failure_threshold": 1.0}
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
OUTPUT = Path(__file__).resolve().parents[1] / "test-output"


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
    with LocalStack(home=home, port=free_port(), extra_env=env) as running:
        yield running


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
    deployment, run_id = start_deployment(stack.api_url, "backfill/backfill", BACKFILL)
    return deployment, _wait(stack, run_id)


def _subflow(stack, run: dict) -> dict:
    """The ingest run a backfill ran as its subflow."""
    [child] = httpx.post(
        f"{stack.api_url}/flow_runs/filter",
        json={"flow_runs": {"parent_flow_run_id": {"any_": [run["id"]]}}},
    ).json()
    return child


def _week_urls(site) -> set[str]:
    """The fixture articles published in WEEK, as the manifest lists them."""
    return {
        site.url(e["source_id"], e["path"])
        for e in manifest()
        if WEEK["since"] <= e["published"] <= WEEK["until"]
    }


def test_the_backfill_deployment_runs_on_the_worker_and_loads_the_week(stack, backfill, site):
    _, run = backfill
    assert run["state"]["type"] == "COMPLETED", run["state"]["message"]
    assert run["parameters"] == BACKFILL
    assert run["name"] == "backfill 2025-10-01..2025-10-07 all sources"
    expected = _week_urls(site)
    with duckdb.connect(stack.extra_env["NEWSFLOW_DB"], read_only=True) as conn:
        stored = {row[0] for row in conn.execute("select url from articles").fetchall()}
    assert stored == expected


def test_the_run_publishes_a_summary_artifact_on_the_flow_run(stack, backfill, site):
    run = _subflow(stack, backfill[1])
    artifacts = httpx.post(
        f"{stack.api_url}/artifacts/filter",
        json={"artifacts": {"flow_run_id": {"any_": [run["id"]]}}},
    ).json()
    [summary] = [a for a in artifacts if a["type"] == "markdown"]
    assert summary["task_run_id"] is None  # the Artifacts tab names the flow run, not "None"
    for source_id in ("caucasian-knot", "caliber-az", "toutiao"):
        assert source_id in summary["data"]
    for column in ("fetched", "new", "revised", "duplicate", "failed", "translated", "duration"):
        assert column in summary["data"]
    lines = summary["data"].splitlines()
    [header] = [line for line in lines if line.startswith("| source |")]
    [total] = [line for line in lines if "**total**" in line]
    cells = dict(zip(header.split("|")[2:-1], total.split("|")[2:-1], strict=True))
    totals = {name.strip(): cell.strip() for name, cell in cells.items()}
    figures = tuple(int(totals[c]) for c in ("fetched", "new", "duplicate", "failed", "translated"))
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


def test_the_form_offers_required_dates_and_the_configured_sources(stack, backfill):
    deployment, _ = backfill
    schema = deployment["parameter_openapi_schema"]
    assert schema["required"] == ["since", "until"]
    assert {schema["properties"][d]["format"] for d in ("since", "until")} == {"date"}
    ids = schema["definitions"]["SourceId"]["enum"]
    assert {"caucasian-knot", "caliber-az", "toutiao"} <= set(ids)


def test_an_unknown_source_is_refused_before_a_run_is_created(stack, backfill):
    deployment, _ = backfill
    refused = httpx.post(
        f"{stack.api_url}/deployments/{deployment['id']}/create_flow_run",
        json={"parameters": {**BACKFILL, "sources": ["nowhere"]}},
    )
    assert refused.status_code == 409, refused.text
    assert "nowhere" in refused.text


def test_newsflow_ingest_uses_the_configured_api_instead_of_a_temporary_server(stack, backfill):
    env = {**os.environ, **stack.extra_env, "PREFECT_API_URL": stack.api_url}
    before = {r["id"] for r in _ingest_runs(stack)}
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "ingest", "--source", "caucasian-knot"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Starting temporary server" not in done.stdout + done.stderr
    [run] = [r for r in _ingest_runs(stack) if r["id"] not in before]
    assert run["deployment_id"] is None and run["parameters"]["sources"] == ["caucasian-knot"]


def _ingest_runs(stack) -> list[dict]:
    return httpx.post(
        f"{stack.api_url}/flow_runs/filter",
        json={"flows": {"name": {"any_": ["ingest"]}}},
    ).json()


def test_a_scheduled_run_and_a_backfill_at_once_both_complete(stack, backfill):
    runs = [
        start_deployment(stack.api_url, name, parameters)[1]
        for name, parameters in (("ingest/daily", {}), ("backfill/backfill", BACKFILL))
    ]
    states = [_wait(stack, run_id)["state"] for run_id in runs]
    assert [s["type"] for s in states] == ["COMPLETED", "COMPLETED"], states
    with duckdb.connect(stack.extra_env["NEWSFLOW_DB"], read_only=True) as conn:
        total, distinct = conn.execute(
            "select count(*), count(distinct url) from articles"
        ).fetchone()
    assert total == distinct == len(manifest())
