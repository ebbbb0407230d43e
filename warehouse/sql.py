"""The two ways every warehouse module talks to DuckDB: Arrow tables by name, and transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa


@contextmanager
def registered(conn: duckdb.DuckDBPyConnection, **tables: pa.Table) -> Iterator[None]:
    """Expose Arrow tables to SQL by name for the duration of a block (the bulk path in)."""
    for name, table in tables.items():
        conn.register(name, table)
    try:
        yield
    finally:
        for name in tables:
            conn.unregister(name)


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing: a write that fails half-way leaves no trace.

    Inside a transaction already open (a DuckLake write operation is one) it joins that one,
    which then commits or rolls back the whole.
    """
    try:
        conn.execute("BEGIN TRANSACTION")
    except duckdb.TransactionException as error:
        if "within a transaction" not in str(error):
            raise
        yield
        return
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def merge(
    conn: duckdb.DuckDBPyConnection, table: str, source: str, keys: str, replace: bool = True
) -> None:
    """Upsert the rows of `source` (unique on `keys`) into `table`, columns by name.

    MERGE rather than INSERT ... ON CONFLICT, which needs a key DuckLake cannot have; where
    replace is false, rows already there are kept as they are.
    """
    matched = "WHEN MATCHED THEN UPDATE BY NAME " if replace else ""
    conn.execute(
        f"MERGE INTO {table} USING {source} USING ({keys}) {matched}"
        "WHEN NOT MATCHED THEN INSERT BY NAME"
    )
