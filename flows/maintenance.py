"""The maintenance flow: compact the raw archive, refresh the search index, checkpoint."""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.runs import current_run
from warehouse import store
from warehouse.maintenance import KEEP_LISTING_DAYS, Compaction, maintain


@flow(name="maintenance", log_prints=True)
def maintenance(keep_listing_days: int = KEEP_LISTING_DAYS) -> dict[str, int]:
    """Keep the warehouse file lean and its search index fresh; returns what it removed.

    Args:
        keep_listing_days: Days to keep archived feed, sitemap and API bodies (articles' stay).
    """
    path = store.db_path()
    with store.connect(path) as conn:
        done = maintain(conn, path, keep_listing_days)
        store.record_run(conn, current_run(), [])
    create_markdown_artifact(
        key="maintenance-summary", markdown=_markdown(done), description="maintenance"
    )
    get_run_logger().info("maintenance: %s", done)
    return asdict(done)


def _markdown(done: Compaction) -> str:
    mib = 1024 * 1024
    return (
        "### maintenance\n\n| | |\n|---|---:|\n"
        f"| listing bodies released | {done.listing_bodies_released} |\n"
        f"| archived bodies dropped | {done.bodies_dropped} |\n"
        f"| file size before | {done.bytes_before / mib:.1f} MiB |\n"
        f"| file size after | {done.bytes_after / mib:.1f} MiB |\n"
    )
