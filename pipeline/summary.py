"""What a run tells its operator: the summary table, WARNING lines, and the verdict.

A run ends Completed when every source was read and each source's failed share is at most the
run's failure threshold. Otherwise it ends in a FAILED-type state named "Partial failure"
whose message names the sources and why; the other sources' articles are loaded either way.
Sources behind a bot wall are named with the wall's vendor wherever they appear.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from warehouse.reports import SourceReport

# revised: stored articles whose re-check found the publisher had edited them
COLUMNS = ("fetched", "new", "revised", "duplicate", "failed", "translated", "duration")
PARTIAL_FAILURE = "Partial failure"
# A source whose failed listings and articles exceed this share of its attempts fails the run.
DEFAULT_FAILURE_THRESHOLD = 0.2
COMPLETED = "Completed"
FAILED = "Failed"


@dataclass(frozen=True)
class Verdict:
    """How a run ended, Prefect-free: flows turn it into a state, the CLI into an exit code.

    name: "Completed", "Partial failure" (sources over the threshold) or "Failed" (a source's
    stream crashed); message says which sources and why; figures: per source, when completed.
    """

    name: str
    message: str | None = None
    figures: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        """True when every source was read and none failed over the threshold."""
        return self.name == COMPLETED


def markdown(reports: Sequence[SourceReport], title: str) -> str:
    """A markdown table, one row per source, with a total row, then the failure reasons."""
    lines = [
        f"### {title}",
        "",
        "| source | " + " | ".join(COLUMNS) + " |",
        "|---|" + "---:|" * len(COLUMNS),
    ]
    for r in reports:
        lines.append(
            f"| {r.source_id}{_note(r)} | {r.fetched} | {r.new} | {r.revised} | {r.duplicate} "
            f"| {r.failed} | {r.translated} | {r.seconds:.1f} s |"
        )
    totals = [sum(getattr(r, c) for r in reports) for c in COLUMNS[:-1]]
    lines.append("| **total** | " + " | ".join(str(t) for t in totals) + " | |")
    failing = [r for r in reports if r.failures]
    if failing:
        lines += ["", "#### Failures", ""]
    for r in failing:
        lines.append(f"- **{r.source_id}**: {_counts(r)}")
        lines += [f"  - {e.outcome}: <{e.url}> ({e.reason})" for e in r.examples]
    walled = [r for r in reports if r.walls]
    if walled:
        lines += ["", "#### Bot walls (tried again in a later run)", ""]
    lines += [f"- **{r.source_id}**: {_walls(r)}" for r in walled]
    return "\n".join(lines) + "\n"


def title(flow: str, parameters: dict[str, object], attempt: int = 1) -> str:
    """The summary's heading: the flow, the parameters it was given, and which try this is."""
    given = ", ".join(f"{k}={v}" for k, v in parameters.items() if v not in (None, [], ""))
    again = f", try {attempt}" if attempt > 1 else ""
    return f"{flow} ({given or 'defaults'}{again})"


def warn_failures(
    reports: Sequence[SourceReport], logger: logging.Logger | logging.LoggerAdapter
) -> None:
    """One WARNING per source with failures: counts per outcome and a few URLs with reasons."""
    for r in reports:
        if not r.failures:
            continue
        examples = "; ".join(f"{e.url} ({e.outcome}: {e.reason})" for e in r.examples)
        listing = " no listing could be read;" if r.source_failed else ""
        walls = f" {_walls(r)};" if r.walls else ""
        logger.warning(
            "%s:%s%s %d of %d failed (%s); e.g. %s",
            r.source_id,
            listing,
            walls,
            r.failed,
            r.attempted,
            _counts(r),
            examples,
        )


def verdict(
    reports: Sequence[SourceReport], failure_threshold: float, crashed: dict[str, str]
) -> Verdict:
    """Completed with the per-source figures, or "Partial failure" naming sources and reasons.

    A source whose stream crashed (a bug, a full disk) fails the run whatever the threshold:
    its chunks after the crash were never tried.
    """
    if crashed:
        reasons = "; ".join(f"{source}: {error}" for source, error in crashed.items())
        return Verdict(FAILED, f"sources failed: {reasons}")
    reasons = [reason for r in reports if (reason := _failure_reason(r, failure_threshold))]
    if not reasons:
        return Verdict(COMPLETED, figures={r.source_id: _figures(r) for r in reports})
    return Verdict(PARTIAL_FAILURE, "partial failure: " + "; ".join(reasons))


def _failure_reason(report: SourceReport, failure_threshold: float) -> str | None:
    walls = f" ({_walls(report)})" if report.walls else ""
    if report.walled_out:
        return f"{report.source_id} is behind a bot wall, no listing could be read{walls}"
    if report.source_failed:
        return f"no listing could be read from {report.source_id}"
    if report.failed and report.failed_share > failure_threshold:
        return (
            f"{report.failed} of {report.attempted} URLs of {report.source_id} failed "
            f"({report.failed_share:.0%} > {failure_threshold:.0%}){walls}"
        )
    return None


def _note(report: SourceReport) -> str:
    """What the summary says beside a source none of whose listings could be read."""
    if report.walled_out:
        return f" (blocked by {', '.join(report.walls)}: no listing could be read)"
    return " (no listing could be read)" if report.source_failed else ""


def _walls(report: SourceReport) -> str:
    """Which bot walls blocked how many of a source's URLs: "blocked by cloudflare 12"."""
    return "blocked by " + ", ".join(f"{v} {n}" for v, n in report.walls.items())


def _figures(report: SourceReport) -> dict[str, int]:
    return {c: getattr(report, c) for c in COLUMNS[:-1]}


def _counts(report: SourceReport) -> str:
    return ", ".join(f"{outcome} {count}" for outcome, count in report.failures.items())
