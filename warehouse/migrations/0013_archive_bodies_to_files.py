"""Raw bodies move from raw_archive.body to files beside the warehouse (warehouse/archive.py).

Each body is written as it was stored (the same zstd frame), then the table is made again
without the column: DuckDB cannot drop a column of a table with a primary key.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from warehouse.archive import Body, archive_root, write_bodies

BATCH = 256  # bodies in memory at a time


def apply(conn: duckdb.DuckDBPyConnection, adapt: Callable[[str], str]) -> None:
    """Write every inline body to its file, then replace the table by one without bodies."""
    root = archive_root(conn)
    conn.execute("SELECT sha256, content_type, size, body, archived_at FROM raw_archive")
    while rows := conn.fetchmany(BATCH):
        write_bodies(root, (Body(*row) for row in rows))
    conn.execute(
        adapt(
            """
            CREATE TABLE raw_archive_files (
                sha256        VARCHAR PRIMARY KEY,
                content_type  VARCHAR,
                size          BIGINT NOT NULL,
                stored_size   BIGINT NOT NULL,
                archived_at   TIMESTAMPTZ NOT NULL
            );
            INSERT INTO raw_archive_files
                SELECT sha256, content_type, size, octet_length(body), archived_at
                FROM raw_archive;
            DROP TABLE raw_archive;
            ALTER TABLE raw_archive_files RENAME TO raw_archive;
            """
        )
    )
