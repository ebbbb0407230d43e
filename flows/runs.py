"""What the warehouse's runs table and derived data need from the Prefect run a task is in."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import duckdb
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from warehouse import store


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


def finish_load(conn: duckdb.DuckDBPyConnection) -> None:
    """After a load: cluster the new articles, refresh the search index, record the run."""
    store.refresh_derived(conn)
    store.record_run(conn, current_run())
