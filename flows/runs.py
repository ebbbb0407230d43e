"""Closing a flow run: its figures to the warehouse's runs table and to the summary artifact."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from connectors.config import sources_file_model
from flows import summary
from pipeline.summary import title
from warehouse.interface import Warehouse
from warehouse.loads import RunKey
from warehouse.reports import SourceReport
from warehouse.store import RunRecord

# Every flow that reads sources.yaml imports this module. Pydantic reads the source kinds' field
# docstrings with ast.parse, which CPython 3.11.7 does not make safe across threads (gh-106905,
# "AST constructor recursion depth mismatch"): build the models here, in the importing thread,
# before a flow starts threads of its own.
sources_file_model()


def run_key() -> RunKey:
    """This flow run and which try of it: a retry from the UI keeps the id, not the figures."""
    run_id = flow_run.get_id()
    return RunKey(str(run_id) if run_id else uuid4().hex, int(flow_run.get_run_count() or 1))


def current_run() -> RunRecord:
    """The flow run this code runs in: id, try, flow name, start time and parameters."""
    key = run_key()
    started = None
    if flow_run.get_id():
        with get_client(sync_client=True) as client:
            started = client.read_flow_run(UUID(key.run_id)).start_time
    return RunRecord(
        run_id=key.run_id,
        attempt=key.attempt,
        flow=str(flow_run.get_flow_name() or ""),
        started_at=started,
        ended_at=datetime.now(UTC),
        parameters=dict(flow_run.get_parameters() or {}),
    )


def finish_run(
    warehouse: Warehouse, reports: Sequence[SourceReport], state: str = "Completed"
) -> None:
    """Record the run try in `runs` (in state), then publish the same figures as its summary.

    Called from the flow body with no warehouse connection open, so the artifact belongs to
    the flow run and a slow API never holds the warehouse.
    """
    run = current_run()
    warehouse.record_run(run, reports, state)
    summary.publish(reports, title(run.flow, run.parameters, run.attempt))
