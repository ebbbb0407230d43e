"""The run summary users see in the Prefect UI, and the run's final state."""

from __future__ import annotations

from collections.abc import Sequence

from prefect.artifacts import create_markdown_artifact
from prefect.states import Completed, Failed, State

from warehouse.reports import SourceReport

COLUMNS = ("fetched", "new", "duplicate", "failed", "translated", "duration")


def markdown(reports: Sequence[SourceReport], title: str) -> str:
    """A markdown table, one row per source, with a total row."""
    lines = [
        f"### {title}",
        "",
        "| source | " + " | ".join(COLUMNS) + " |",
        "|---|" + "---:|" * len(COLUMNS),
    ]
    for r in reports:
        note = " (no listing could be read)" if r.source_failed else ""
        lines.append(
            f"| {r.source_id}{note} | {r.fetched} | {r.new} | {r.duplicate} | {r.failed} "
            f"| {r.translated} | {r.seconds:.1f} s |"
        )
    totals = [sum(getattr(r, c) for r in reports) for c in COLUMNS[:-1]]
    lines.append("| **total** | " + " | ".join(str(t) for t in totals) + " | |")
    return "\n".join(lines) + "\n"


def title(flow: str, parameters: dict[str, object]) -> str:
    """The summary's heading: the flow and the parameters it was given."""
    given = ", ".join(f"{k}={v}" for k, v in parameters.items() if v not in (None, [], ""))
    return f"{flow} ({given or 'defaults'})"


def publish(reports: Sequence[SourceReport], title: str) -> None:
    """Attach the summary to the current flow run, where the UI's Artifacts tab shows it."""
    create_markdown_artifact(
        key="ingest-summary", markdown=markdown(reports, title), description=title
    )


def final_state(reports: Sequence[SourceReport], data: object) -> State:
    """Completed, or a failure named "Partial failure" that names the sources that failed.

    The other sources' articles are loaded either way; the failed state makes the run stand out
    in the UI and lets automations alert on it.
    """
    failed = [r.source_id for r in reports if r.source_failed]
    if not failed:
        return Completed(data=data)
    return Failed(
        name="Partial failure",
        message=f"partial failure: no listing could be read from {', '.join(failed)}",
        data=data,
    )
