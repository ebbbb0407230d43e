"""The backfill flow behind the UI's Run form: a required date window and a pick-list of sources.

Its parameters are what the form shows: since and until are required dates (date pickers, no
"None" toggle), sources is a list of the ids sources.yaml configures (an enum built when this
flow is first asked for, i.e. at deploy time, never on import), so an unknown id is refused
before the run starts.
It runs the ingest flow as a subflow with both dates set, which never moves the daily cursors.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import Enum
from functools import cache

from prefect import Flow, flow
from prefect.runtime import flow_run
from prefect.states import Completed, State

from connectors.config import load_sources
from flows.ingest import check_window, ingest
from pipeline.summary import DEFAULT_FAILURE_THRESHOLD


def window_name(since: object, until: object, sources: Sequence[object] | None) -> str:
    """A run name that says what it loads: `backfill 2025-10-01..2025-10-07 caucasian-knot`."""
    ids = [getattr(s, "value", s) for s in sources or []]
    return f"backfill {since}..{until} {', '.join(map(str, ids)) or 'all sources'}"


def _run_name() -> str:
    parameters = flow_run.get_parameters()
    return window_name(parameters["since"], parameters["until"], parameters.get("sources"))


def run_backfill(
    since: date,
    until: date,
    sources: Sequence[Enum] = (),
    failure_threshold: float = DEFAULT_FAILURE_THRESHOLD,
) -> State:
    """Load the articles published in a date window, from some sources or all of them.

    Ends in the ingest run's state: Completed, or "Partial failure" naming the sources that
    failed. The Args below are what the Prefect UI shows beside each field of the Run form.

    Args:
        since: First publication day to load.
        until: Last publication day to load, inclusive.
        sources: Sources to load (empty means all configured sources).
        failure_threshold: Share of a source's URLs that may fail before the run is a
            "Partial failure" (0.2 = 20 %; 1 = only when no listing could be read).
    """
    check_window(since, until)
    outcome = ingest(
        sources=[s.value for s in sources],
        since=since,
        until=until,
        failure_threshold=failure_threshold,
        return_state=True,
    )
    return _same_as(outcome)


@cache
def source_ids() -> type[Enum]:
    """The configured source ids, as an enum whose JSON schema lists them for the Run form;
    read from sources.yaml when first asked for (at deploy time), never on import."""
    return Enum("SourceId", {s.id: s.id for s in load_sources()}, type=str)  # type: ignore[return-value]


@cache
def backfill_flow() -> Flow:
    """The backfill flow, its `sources` typed by the configured ids (source_ids)."""
    run_backfill.__annotations__["sources"] = tuple[source_ids(), ...]  # type: ignore[misc]
    return flow(name="backfill", flow_run_name=_run_name, log_prints=True)(run_backfill)


def __getattr__(name: str) -> object:
    """`backfill` (prefect.yaml's entrypoint) and `SourceId`, built on first use."""
    if name == "backfill":
        return backfill_flow()
    if name == "SourceId":
        return source_ids()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _same_as(state: State) -> State:
    """A fresh state like the subflow's: returned as is, Prefect would read it as a subflow
    result and end the backfill in a generic "1/1 states failed"."""
    if state.is_completed():
        return Completed(name=state.name, message=state.message, data=state.result())
    return State(type=state.type, name=state.name, message=state.message, data=state.message)
