"""Keeping the warehouse lean: old listing bodies and lost files out of the archive, a checkpoint.

Article bodies stay forever (reprocess needs them). Feed, sitemap and API bodies only matter
for a while: a daily run archives a new one per listing, so they would grow the file without
end. The search index is refreshed here too, in case a load was interrupted before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse import lake, store
from warehouse.archive import delete_bodies, sweep_orphans
from warehouse.search import refresh_index
from warehouse.sql import registered, transaction

KEEP_LISTING_DAYS = 30


@dataclass(frozen=True)
class Compaction:
    """What one maintenance pass removed, and the warehouse's size around it."""

    listing_bodies_released: int  # fetch_log rows of old listings that no longer keep a body
    bodies_dropped: int  # raw_archive rows that nothing referenced any more
    bytes_before: int
    bytes_after: int


def release_bodies(
    conn: duckdb.DuckDBPyConnection, keep_listing_days: int = KEEP_LISTING_DAYS
) -> tuple[int, list[tuple[str, str | None]]]:
    """Release listing bodies older than keep_listing_days and drop the rows of bodies nothing
    references, in one transaction; returns (listing rows released, (key, pack) of each
    dropped body).

    Their files are the caller's to remove once this has committed (archive.delete_bodies).
    """
    cutoff = datetime.now(UTC) - timedelta(days=keep_listing_days)
    with transaction(conn):
        released = conn.execute(
            "UPDATE fetch_log SET raw_sha256 = NULL "
            "WHERE kind = 'listing' AND raw_sha256 IS NOT NULL AND attempted_at < ?",
            [cutoff],
        ).fetchone()
        unused: list[tuple[str, str | None]] = conn.execute(
            "SELECT sha256, pack FROM raw_archive r "
            "WHERE NOT EXISTS (SELECT 1 FROM fetch_log l WHERE l.raw_sha256 = r.sha256) "
            "AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.raw_sha256 = r.sha256)"
        ).fetchall()
        keys = pa.array([sha256 for sha256, _ in unused], pa.string())
        with registered(conn, unused=pa.table({"sha256": keys})):
            conn.execute("DELETE FROM raw_archive WHERE sha256 IN (SELECT sha256 FROM unused)")
    return (released[0] if released else 0), unused


def maintain(keep_listing_days: int = KEEP_LISTING_DAYS, path: Path | None = None) -> Compaction:
    """Compact the archive, refresh the search index, checkpoint so freed space is reused.

    Each change of rows is one write operation (store.write): on DuckLake it waits for the
    writers' turn, so no worker's commit interleaves with it (one could name a body being
    dropped). The dropped bodies' files go after that commit, with files no row names (a
    commit lost in a crash). On DuckLake the checkpoint is DuckLake's own maintenance (inlined
    rows flushed, small files merged, files of expired snapshots removed).
    """
    with store.connect(path) as conn:
        before = stored_bytes(conn)
    released, unused = store.write(lambda conn: release_bodies(conn, keep_listing_days), path)
    store.write(refresh_index, path)
    with store.connect(path) as conn:
        delete_bodies(conn, unused)
        sweep_orphans(conn)
        conn.execute("FORCE CHECKPOINT")
        return Compaction(released, len(unused), before, stored_bytes(conn))


def stored_bytes(conn: duckdb.DuckDBPyConnection) -> int:
    """The warehouse's size: its file (or a DuckLake's Parquet files) and the archived bodies."""
    row = conn.execute("SELECT coalesce(sum(stored_size), 0) FROM raw_archive").fetchone()
    bodies = int(row[0]) if row else 0
    on_lake = lake.data_bytes(conn)
    if on_lake is not None:
        return on_lake + bodies
    row = conn.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return bodies + (Path(row[0]).stat().st_size if row else 0)
