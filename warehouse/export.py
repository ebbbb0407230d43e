"""Parquet exports of the stories, partitioned by day and source, for tools beyond SQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb


def export_parquet(
    conn: duckdb.DuckDBPyConnection,
    directory: Path,
    since: date | None = None,
    until: date | None = None,
) -> int:
    """Write articles_en rows to DIR/date=YYYY-MM-DD/source_id=ID/*.parquet; returns the count.

    The day is the publication day (the fetch day where the page gave none), in UTC; each row's
    date_from says which ('published' or 'fetched'). Files of an earlier export to the same
    directory are replaced partition by partition.
    """
    directory.mkdir(parents=True, exist_ok=True)
    selection = """
        SELECT * EXCLUDE (source_id), source_id,
               CAST(timezone('UTC', coalesce(published_at, fetched_at)) AS DATE) AS date,
               CASE WHEN published_at IS NULL THEN 'fetched' ELSE 'published' END AS date_from
        FROM articles_en
        WHERE ($since IS NULL OR date >= $since) AND ($until IS NULL OR date <= $until)
    """
    params = {"since": since, "until": until}
    row = conn.execute(f"SELECT count(*) FROM ({selection})", params).fetchone()
    count = int(row[0]) if row else 0
    if count:
        target = str(directory).replace("'", "''")
        conn.execute(
            f"COPY ({selection}) TO '{target}' "
            "(FORMAT parquet, PARTITION_BY (date, source_id), OVERWRITE_OR_IGNORE)",
            params,
        )
    return count
