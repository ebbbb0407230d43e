"""How every warehouse module talks to DuckDB: Arrow tables by name, rows by rowid, transactions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import duckdb
import pyarrow as pa


def url_table(urls: Iterable[str]) -> pa.Table:
    """URLs as a one-column Arrow table, to register and join on (`url IN (SELECT url FROM t)`):
    a list bound as a parameter costs about 0.1 ms a URL."""
    return pa.table({"url": pa.array(list(urls), pa.string())})


def wide_rows(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    chosen: str,
    columns: str,
    order: str = "",
    params: Sequence[object] = (),
) -> list[tuple]:
    """Columns of the rows of table whose rowids the query `chosen` selects (on small columns).

    DuckDB reads every column of every row that a join or NOT IN passes through; choosing the
    rows first and then fetching them by rowid reads long texts for those rows only. At 5k
    articles, the texts of a chunk's 100: 28 ms and 19 MB, against 92 ms and 74 MB, growing
    with the warehouse, for the one query.
    """
    ids = conn.execute(chosen, list(params)).to_arrow_table()
    if ids.num_rows == 0:
        return []
    with registered(conn, chosen_rowids=ids.rename_columns(["id"])):
        return conn.execute(
            f"SELECT {columns} FROM {table} WHERE rowid IN (SELECT id FROM chosen_rowids) {order}"
        ).fetchall()


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


# Connections whose one transaction spans a whole operation (a DuckLake write): the
# transactions opened inside join it. DuckDB cannot be asked, and a BEGIN that fails aborts.
_SPANNING: set[int] = set()


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection, spanning: bool = False) -> Iterator[None]:
    """All or nothing: a write that fails half-way leaves no trace.

    spanning: this transaction is the whole operation's, and those opened inside it (by the
    same connection) join it; it commits or rolls back the whole.
    """
    if id(conn) in _SPANNING:
        yield
        return
    conn.execute("BEGIN TRANSACTION")
    if spanning:
        _SPANNING.add(id(conn))
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        _SPANNING.discard(id(conn))
    conn.execute("COMMIT")


def merge(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    rows: pa.Table,
    keys: Sequence[str],
    replace: bool = True,
) -> None:
    """Upsert rows (unique on the key columns) into a table, columns by name.

    MERGE rather than INSERT ... ON CONFLICT, which needs a key DuckLake cannot have. Key
    columns are never rewritten (DuckDB's index would see a delete and an insert of the key);
    where replace is false, rows already there are kept as they are.
    """
    updates = ", ".join(f'"{c}" = merged."{c}"' for c in rows.column_names if c not in keys)
    matched = f"WHEN MATCHED THEN UPDATE SET {updates} " if replace and updates else ""
    with registered(conn, merged=rows):
        conn.execute(
            f"MERGE INTO {table} USING merged USING ({', '.join(keys)}) {matched}"
            "WHEN NOT MATCHED THEN INSERT BY NAME"
        )
