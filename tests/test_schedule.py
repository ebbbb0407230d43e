"""The schedules in prefect.yaml fire: the server's own scheduler creates the runs, nobody else.

A real `prefect server start` with the project's deployments and a worker. No test here creates
a flow run: every run looked at must be one the scheduler made (auto_scheduled).
"""

from __future__ import annotations

import time
from datetime import datetime

import httpx
import pytest
from conftest import FAST_POLITENESS

from flows.serve import LocalStack, free_port

pytestmark = pytest.mark.e2e

STARTED = {"RUNNING", "COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@pytest.fixture(scope="module")
def stack(site, tmp_path_factory):
    """The project's deployments on a real server and worker, ingesting from the fixture site."""
    home = tmp_path_factory.mktemp("prefect-home")
    env = {
        "NEWSFLOW_BASE_URL": site.base_url,
        "NEWSFLOW_POLITENESS": FAST_POLITENESS,
        "NEWSFLOW_DB": str(home / "newsflow.duckdb"),
        # the scheduler's loop runs every 5 s, not every 60: a schedule added by a test is
        # planned at once (what is checked is that it plans, not how often it looks)
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
    }
    with LocalStack(home=home, port=free_port(), extra_env=env) as running:
        yield running


def _deployment(stack: LocalStack, name: str) -> dict:
    return httpx.get(f"{stack.api_url}/deployments/name/{name}").json()


def _scheduled_runs(stack: LocalStack, deployment: dict, timeout: float = 90) -> list[dict]:
    """The runs the scheduler made for a deployment, once there are any."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = httpx.post(
            f"{stack.api_url}/flow_runs/filter",
            json={"flow_runs": {"deployment_id": {"any_": [deployment["id"]]}}},
        ).json()
        if made := [r for r in runs if r["auto_scheduled"]]:
            return made
        assert stack.dead_process() is None, f"the {stack.dead_process()} died"
        time.sleep(2)
    raise AssertionError(f"the scheduler made no run for {deployment['name']} in {timeout} s")


@pytest.mark.parametrize(
    ("name", "hour", "weekday"), [("ingest/daily", 6, None), ("maintenance/maintenance", 5, 6)]
)
def test_the_scheduler_plans_runs_at_the_configured_times(stack, name, hour, weekday):
    runs = _scheduled_runs(stack, _deployment(stack, name))
    assert len(runs) >= 3
    for run in runs:
        assert run["state"]["type"] == "SCHEDULED"
        at = datetime.fromisoformat(run["expected_start_time"])
        assert (at.hour, at.minute) == (hour, 0)
        assert weekday is None or at.weekday() == weekday


def test_a_run_the_scheduler_makes_is_picked_up_by_the_worker(stack):
    daily = _deployment(stack, "ingest/daily")
    # every 5 s (not a cron every minute, which waits up to a minute for its first run)
    often = [{"schedule": {"interval": 5}, "active": True}]
    httpx.post(
        f"{stack.api_url}/deployments/{daily['id']}/schedules", json=often
    ).raise_for_status()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        fired = [r for r in _scheduled_runs(stack, daily) if r["state"]["type"] in STARTED]
        if fired:
            assert fired[0]["parameters"] == {"failure_threshold": 0.2}
            return
        time.sleep(2)
    raise AssertionError("no scheduled run of ingest/daily started within 180 s")
