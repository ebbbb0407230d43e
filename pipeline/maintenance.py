"""Maintenance: compact the raw archive, refresh the search index, checkpoint, and run each
source's canary (its latest good article re-extracted from the archive, no refetch). The
maintenance flow runs it and alerts on what the canaries flag; `newsflow maintenance` with no
Prefect server runs it in its own process (pipeline/here.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from connectors.config import load_sources
from warehouse.health import CanaryCheck, CanaryStatus
from warehouse.interface import Warehouse
from warehouse.maintenance import KEEP_LISTING_DAYS, Compaction, maintain


@dataclass(frozen=True)
class Upkeep:
    """One maintenance pass: what it removed and what each source's canary said."""

    compaction: Compaction
    checks: list[CanaryCheck]

    def changed(self) -> list[CanaryCheck]:
        """The canaries that flagged a layout change."""
        return [c for c in self.checks if c.status == CanaryStatus.CHANGED]

    def summary(self) -> dict[str, object]:
        """What was removed, and the sources flagged or with no canary, each with why."""
        return {
            **asdict(self.compaction),
            "layout_changed": {c.source_id: c.reason for c in self.changed()},
            "no_canary": {
                c.source_id: c.reason for c in self.checks if c.status == CanaryStatus.NONE
            },
        }


def upkeep(warehouse: Warehouse, keep_listing_days: int = KEEP_LISTING_DAYS) -> Upkeep:
    """Compact the configured warehouse (the file or a DuckLake; each write in the writers'
    turn), then run the canaries: a broken sources file fails only the canaries."""
    done = maintain(keep_listing_days)
    sources = {s.id: s for s in load_sources()}
    return Upkeep(done, warehouse.check_canaries(sources, datetime.now(UTC)))
