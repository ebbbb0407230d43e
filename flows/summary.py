"""A run's verdict and summary as Prefect shows them: the final state and the artifact.

"Partial failure" is a FAILED-type state (red in the UI, matched by automations) whose data is
its message string, so Prefect can turn it into a FailedRun instead of a TypeError.
"""

from __future__ import annotations

from collections.abc import Sequence

from prefect.artifacts import create_markdown_artifact
from prefect.states import Completed, Failed, State

from pipeline.summary import Verdict, markdown, verdict
from warehouse.reports import SourceReport

ARTIFACT_KEY = "ingest-summary"


def publish(reports: Sequence[SourceReport], title: str) -> None:
    """Attach the summary to the current flow run (call from the flow body, not a task)."""
    create_markdown_artifact(key=ARTIFACT_KEY, markdown=markdown(reports, title), description=title)


def state_of(decided: Verdict) -> State:
    """The Prefect state a run's verdict ends it in."""
    if decided.completed:
        return Completed(data=decided.figures)
    return Failed(name=decided.name, message=decided.message, data=decided.message)


def final_state(
    reports: Sequence[SourceReport], failure_threshold: float, crashed: dict[str, str] | None = None
) -> State:
    """The state of a run with these figures (pipeline.summary.verdict)."""
    return state_of(verdict(reports, failure_threshold, crashed or {}))
