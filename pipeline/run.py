"""One ingest run's lifecycle: open, record a source that crashed, close with a verdict.

The single-process flow (flows/ingest.py), the pool (flows/pool.py) and a Prefect-free command
line all go through it; flows only compose it with their tasks and publish what it returns
(a Prefect state, the summary artifact, alerts). No Prefect here: the run's identity comes in
as a RunRecord, its heartbeats are the runner's (flows/unresponsive.py). Each step is one
warehouse session: opening registers the sources and marks the run Running, closing reads
the figures, records the verdict and counts the outcomes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from connectors.config import Source
from pipeline.ingest import CHUNK_SIZE, IngestRun, crashed_listing, utc_now
from pipeline.summary import Verdict, title, verdict
from warehouse.frontier import Refetch
from warehouse.interface import Warehouse
from warehouse.loads import RunKey
from warehouse.reports import SourceReport
from warehouse.store import RunRecord

log = logging.getLogger("newsflow.run")


@dataclass(frozen=True)
class Closed:
    """A closed run try: its figures per source, its verdict, its outcome counts."""

    record: RunRecord
    reports: list[SourceReport]
    verdict: Verdict
    outcomes: dict[str, dict[str, int]]

    @property
    def title(self) -> str:
        """The summary's heading: the flow, its parameters and which try this is."""
        return title(self.record.flow, self.record.parameters, self.record.attempt)


@dataclass
class Run:
    """An ingest run try from open to close, on one warehouse.

    params is what every source's stream and chunk takes; crashed collects the sources whose
    stream or listing failed as a whole (they fail the run whatever the threshold).
    """

    warehouse: Warehouse
    record: RunRecord
    sources: list[Source]
    params: IngestRun
    dead: list[str] = field(default_factory=list)
    crashed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        warehouse: Warehouse,
        record: RunRecord,
        sources: Sequence[Source],
        since: date | None = None,
        until: date | None = None,
        refetch: Refetch | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> Run:
        """Register the sources and record the run as Running; `dead` names the runs whose
        process died, now marked Crashed."""
        dead = warehouse.open_run(record, sources, utc_now())
        if dead:
            log.warning("runs whose process died, now marked Crashed: %s", dead)
        key = RunKey(record.run_id, record.attempt)
        params = IngestRun(key, since, until, refetch, chunk_size)
        return cls(warehouse, record, list(sources), params, dead)

    @property
    def key(self) -> RunKey:
        return self.params.run

    def record_crash(self, source: Source, error: BaseException) -> None:
        """Log a source whose stream or listing crashed as a whole; the verdict names it."""
        failed = crashed_listing(source, error, utc_now())
        try:
            self.warehouse.record_listings(self.key, [failed], [], utc_now())
        except Exception:  # a full disk: the run's row still says why
            log.exception("could not record the failure of %s", source.id)
        self.crashed[source.id] = failed.error or ""

    def close(self, failure_threshold: float) -> Closed:
        """Read the run's figures, decide its verdict and record both in `runs`."""
        record = replace(self.record, ended_at=utc_now())
        decided: list[Verdict] = []

        def decide(reports: list[SourceReport]) -> str:
            decided[:] = [verdict(reports, failure_threshold, self.crashed)]
            return decided[0].name

        reports, outcomes = self.warehouse.close_run(record, decide)
        return Closed(record, reports, decided[0], outcomes)
