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
    """All or nothing: a write that fails half-way leaves no trace."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
