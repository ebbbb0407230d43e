"""The maintenance flow: compact the raw archive, refresh the search index, checkpoint, and run
each source's canary (its latest good article re-extracted from the archive, no refetch)."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows import alerts
from flows.runs import current_run
from pipeline.maintenance import upkeep
from warehouse.health import CanaryCheck
from warehouse.interface import DuckDBWarehouse
from warehouse.maintenance import KEEP_LISTING_DAYS, Compaction


@flow(name="maintenance", log_prints=True)
def maintenance(keep_listing_days: int = KEEP_LISTING_DAYS) -> dict[str, object]:
    """Keep the warehouse file lean and its search index fresh, and check every source's canary.

    Returns what it removed, and the sources whose canary flagged a layout change with why
    (each also alerts the operator's webhook).

    Args:
        keep_listing_days: Days to keep archived feed, sitemap and API bodies (articles' stay).
    """
    warehouse = DuckDBWarehouse()
    done = upkeep(warehouse, keep_listing_days)
    warehouse.record_run(current_run(), [])
    logger = get_run_logger()
    alerts.flag_layout_changes(done.checks, logger)
    create_markdown_artifact(
        key="maintenance-summary",
        markdown=_markdown(done.compaction, done.checks),
        description="maintenance",
    )
    logger.info("maintenance: %s", done.compaction)
    return done.summary()


def _markdown(done: Compaction, checks: list[CanaryCheck]) -> str:
    mib = 1024 * 1024
    lines = [
        "### maintenance\n\n| | |\n|---|---:|",
        f"| listing bodies released | {done.listing_bodies_released} |",
        f"| archived bodies dropped | {done.bodies_dropped} |",
        f"| size before | {done.bytes_before / mib:.1f} MiB |",
        f"| size after | {done.bytes_after / mib:.1f} MiB |",
    ]
    if checks:
        lines += ["", "#### Canaries", "", "| source | status | stored | now | what changed |"]
        lines.append("|---|---|---:|---:|---|")
    lines += [
        f"| {c.source_id} | {c.status} | {c.stored_chars} "
        f"| {'-' if c.extracted_chars is None else c.extracted_chars} "
        f"| {c.reason or ''} |"
        for c in checks
    ]
    return "\n".join(lines) + "\n"
