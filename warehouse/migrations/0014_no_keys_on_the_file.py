"""The DuckDB file drops its keys and indexes, as the DuckLake never had them (warehouse/lake.py).

DuckDB's checkpoint rewrites the whole of a table that has an index (a primary key is one)
whenever rows are appended to it: on the articles table, 0.06 s a commit at 5k articles,
0.3 s at 20k, 0.6 s at 40k, and the file grows by a copy each time. Keys are kept by the
writes, on both backends alike: one writer at a time, MERGE on the key columns. DuckDB cannot
drop a key in place, so each keyed table is made again from its own DDL without it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import duckdb

from warehouse import lake

_SEQUENCE_DEFAULT = re.compile(r"\s+DEFAULT\s*\(\s*nextval\('[^']*'\)\s*\)", re.I)


def apply(conn: duckdb.DuckDBPyConnection, adapt: Callable[[str], str]) -> None:
    """Make every table with a key or an index again without them, its rows kept."""
    if lake.data_dir(conn) is not None:
        return  # a lake never had them
    keyed = conn.execute(
        """
        SELECT table_name FROM duckdb_constraints()
        WHERE database_name = current_database() AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')
        UNION
        SELECT table_name FROM duckdb_indexes() WHERE database_name = current_database()
        ORDER BY 1
        """
    ).fetchall()
    for (table,) in keyed:
        ddl = conn.execute(
            "SELECT sql FROM duckdb_tables() WHERE database_name = current_database() "
            "AND table_name = ?",
            [table],
        ).fetchall()[0][0]
        bare = _SEQUENCE_DEFAULT.sub("", lake.adapt(ddl))
        made = re.sub(rf"^CREATE TABLE {table}\(", f"CREATE TABLE {table}__unkeyed(", bare)
        conn.execute(made)
        conn.execute(f"INSERT INTO {table}__unkeyed SELECT * FROM {table}")
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f"ALTER TABLE {table}__unkeyed RENAME TO {table}")
    conn.execute("DROP SEQUENCE IF EXISTS fetch_log_id")
