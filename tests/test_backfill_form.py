"""The backfill as the UI's Run form and the CLI offer it: a window, configured sources, a name."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.utilities.callables import parameter_schema

from connectors.config import load_sources
from flows import cli
from flows.backfill import backfill
from warehouse import state, store


def test_the_form_has_required_date_pickers_and_a_pick_list_of_the_configured_sources():
    schema = parameter_schema(backfill.fn).model_dump_for_openapi()
    assert schema["required"] == ["since", "until"]
    for day in ("since", "until"):  # a plain date field: no anyOf with null, so no type toggle
        assert schema["properties"][day]["type"] == "string"
        assert schema["properties"][day]["format"] == "date"
    sources = schema["properties"]["sources"]
    assert sources["type"] == "array" and sources["default"] == []
    assert schema["definitions"]["SourceId"]["enum"] == [s.id for s in load_sources()]


def test_the_cli_refuses_a_window_that_ends_before_it_starts(
    capsys, tmp_path, monkeypatch, configure
):
    configure(db=Path(tmp_path / "w.duckdb"))
    assert cli.main(["ingest", "--since", "2025-10-07", "--until", "2025-10-01"]) == 1
    assert capsys.readouterr().err.strip() == (
        "newsflow: error: since (2025-10-07) is after until (2025-10-01): the window would be empty"
    )
    assert not (tmp_path / "w.duckdb").exists()


def test_a_backfill_that_ends_before_it_starts_fails_with_the_reason_before_any_work(
    prefect_api,
    tmp_path,
    monkeypatch,
    configure,
):
    configure(db=Path(tmp_path / "w.duckdb"))
    run = backfill(since=date(2025, 10, 7), until=date(2025, 10, 1), return_state=True)
    assert run.is_failed()
    assert "since (2025-10-07) is after until (2025-10-01)" in run.message
    assert not (tmp_path / "w.duckdb").exists()


def test_an_unknown_source_is_refused_before_the_run_starts(
    prefect_api, tmp_path, monkeypatch, configure
):
    configure(db=Path(tmp_path / "w.duckdb"))
    run = backfill(
        since=date(2025, 10, 1), until=date(2025, 10, 7), sources=["nowhere"], return_state=True
    )
    assert run.is_failed()
    assert "Validation of flow parameters failed" in run.message
    assert "sources.0: Input should be 'caucasian-knot', 'caucasian-knot-en'" in run.message
    assert not (tmp_path / "w.duckdb").exists()


@pytest.fixture
def a_daily_run_then_a_backfill(prefect_api, pointed_at_site):
    """A daily run sets the cursors; then a week of Caucasian Knot is backfilled."""
    # the fixture site breaks some pages on purpose: tolerate them, this is about cursors
    assert cli.main(["ingest", "--source", "caucasian-knot", "--failure-threshold", "1"]) == 0
    with store.connect() as conn:
        before = state.read(conn, "caucasian-knot")
    run = backfill(
        since=date(2025, 10, 1),
        until=date(2025, 10, 7),
        sources=["caucasian-knot"],
        return_state=True,
    )
    with store.connect() as conn:
        after = state.read(conn, "caucasian-knot")
    return run, before, after


def test_a_backfill_is_named_after_its_window_and_never_moves_the_daily_cursor(
    a_daily_run_then_a_backfill,
):
    run, before, after = a_daily_run_then_a_backfill
    assert run.is_completed(), run.message
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(UUID(str(run.state_details.flow_run_id)))
    assert flow_run.name == "backfill 2025-10-01..2025-10-07 caucasian-knot"
    assert before.cursor is not None
    assert after == before


def test_a_backfill_ends_in_its_ingest_runs_state_with_the_reasons(
    prefect_api,
    pointed_at_site,
    tmp_path,
    monkeypatch,
    configure,
):
    configure(db=Path(tmp_path / "w.duckdb"))
    run = backfill(
        since=date(2025, 10, 1),
        until=date(2025, 10, 7),
        sources=["caucasian-knot"],
        failure_threshold=0.0,  # the fixture site breaks some pages on purpose
        return_state=True,
    )
    assert run.is_failed() and run.name == "Partial failure"
    assert run.message.startswith("partial failure: ")
    assert "URLs of caucasian-knot failed" in run.message


def test_importing_the_backfill_module_reads_no_sources_file(tmp_path):
    """sources.yaml is read when the flow is first asked for (deploy, run), never on import."""
    code = (
        "import flows.backfill\n"
        "try:\n    flows.backfill.backfill\n"
        "except Exception as exc:\n    print(type(exc).__name__)\n"
    )
    env = {**os.environ, "NEWSFLOW_SOURCES": str(tmp_path / "missing.yaml")}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "ConfigError"
