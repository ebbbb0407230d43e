"""One source that cannot be read fails the run by name, and every other source still loads.

The operator sees why without SQL: a WARNING line per failing source and the failure reasons in
the run's summary artifact; and no ERROR traceback from Prefect about the final state.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from uuid import UUID

import duckdb
import pytest
import yaml
from conftest import FAST_POLITENESS
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    LogFilter,
    LogFilterFlowRunId,
)

from connectors.config import default_sources_path
from fixture_site import manifest
from flows import cli

DEAD = {
    "id": "gone-daily",
    "name": "A feed that is not there any more",
    "kind": "feed",
    "base_url": "https://gone.example",
    "feed_url": "/rss.xml",
    "language": "en",
}


@pytest.fixture
def with_a_dead_source(prefect_api, site, tmp_path, monkeypatch, configure):
    """Caucasian Knot and a source whose feed answers 404, in a warehouse of their own."""
    config = yaml.safe_load(default_sources_path().read_text(encoding="utf-8"))
    config["sources"] = [s for s in config["sources"] if s["id"] == "caucasian-knot"] + [DEAD]
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    configure(sources_file=Path(sources))
    configure(base_url=site.base_url)
    configure(politeness=FAST_POLITENESS)
    configure(db=Path(tmp_path / "w.duckdb"))
    return tmp_path / "w.duckdb"


def test_a_dead_source_is_a_named_partial_failure_and_the_rest_loads(with_a_dead_source, capsys):
    # only a source that gave nothing fails the run (the fixture breaks some pages anyway)
    assert cli.main(["ingest", "--failure-threshold", "1"]) == 1
    verdict = capsys.readouterr().err.strip().splitlines()[-1]
    assert verdict == "partial failure: no listing could be read from gone-daily"
    with duckdb.connect(str(with_a_dead_source), read_only=True) as conn:
        stored = conn.execute("select count(*) from articles").fetchone()[0]
        failed_listing = conn.execute(
            "select outcome, http_status from fetch_log "
            "where source_id = 'gone-daily' and kind = 'listing'"
        ).fetchall()
        runs = conn.execute("select flow, new, failed, run_id from runs").fetchall()
    ok = [e for e in manifest() if e["source_id"] == "caucasian-knot"]
    assert stored == len(ok)
    assert failed_listing == [("http_error", 404)]
    assert runs[0][:2] == ("ingest", len(ok)) and runs[0][2] >= 1
    logs = _run_logs(runs[0][3])  # as the run's Logs tab shows them
    [dead] = [m for level, m in logs if level == logging.WARNING and m.startswith("gone-daily:")]
    assert dead.startswith("gone-daily: no listing could be read; 1 of 1 failed (http_error 1)")
    assert "/gone-daily/rss.xml (http_error:" in dead
    assert not [m for level, m in logs if level >= logging.ERROR]  # no TypeError traceback
    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(  # the run summary (a daily run also has its digest)
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[runs[0][3]]),
                key=ArtifactFilterKey(any_=["ingest-summary"]),
            )
        )
    assert artifact.task_run_id is None
    assert "- **gone-daily**: http_error 1" in artifact.data


def _run_logs(run_id: str, settle_seconds: float = 15) -> list[tuple[int, str]]:
    """The run's log lines on the server, once its WARNING lines have arrived (sent in batches)."""
    deadline = time.monotonic() + settle_seconds
    with get_client(sync_client=True) as client:
        while True:
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(run_id)]))
            )
            lines = [(log.level, log.message) for log in logs]
            if any(level == logging.WARNING for level, _ in lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.5)
