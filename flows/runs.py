"""Closing a flow run: its figures to the warehouse's runs table and to the summary artifact."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import duckdb
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from flows import summary
from warehouse import store
from warehouse.reports import SourceReport


def current_run() -> store.RunRecord:
    """The flow run this code runs in: id, flow name, start time (from the API) and parameters."""
    run_id = str(flow_run.get_id() or "")
    started = None
    if run_id:
        with get_client(sync_client=True) as client:
            started = client.read_flow_run(UUID(run_id)).start_time
    return store.RunRecord(
        run_id=run_id,
        flow=str(flow_run.get_flow_name() or ""),
        started_at=started,
        ended_at=datetime.now(UTC),
        parameters=dict(flow_run.get_parameters() or {}),
    )


def finish_run(conn: duckdb.DuckDBPyConnection, reports: Sequence[SourceReport]) -> None:
    """Record the run in `runs` and publish the same per-source figures as its summary."""
    run = current_run()
    store.record_run(conn, run, reports)
    summary.publish(reports, summary.title(run.flow, run.parameters))
