"""The analysis connection: what `newsflow sql`, `search` and `export` give a query to run on.

An analyst's SQL (or a query pasted from somewhere) must not be able to overwrite the
warehouse, read the host's files, or download and load extensions. DuckDB can enforce all of
it: the warehouse is opened read-only, access to anything but the warehouse file is switched
off (files, URLs, ATTACH, INSTALL), extensions are neither installed nor loaded on demand, and
the configuration is locked so the query cannot switch any of it back on. Writing is possible
only inside one directory the caller names (an export's destination).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse import lake, store

# Applied in this order: the last two close the door behind the others.
_LOCKDOWN = (
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET allow_community_extensions = false",
)


@contextmanager
def analysis_connection(
    path: Path | None = None,
    writable_dir: Path | None = None,
    wait_seconds: float = store.READ_WAIT_SECONDS,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only, locked-down connection to the warehouse; files only in writable_dir.

    writable_dir (created if missing) is where COPY ... TO may write, and nowhere else.
    """
    with store.connect(path, read_only=True, wait_seconds=wait_seconds) as conn:
        lock_down(conn, writable_dir, lake.data_dir(conn))
        yield conn


def lock_down(
    conn: duckdb.DuckDBPyConnection,
    writable_dir: Path | None = None,
    lake_data: str | None = None,
) -> None:
    """Switch off every way out of the database for this connection, for good."""
    for statement in lockdown_statements(writable_dir, lake_data):
        conn.execute(statement)


def lockdown_statements(
    writable_dir: Path | None = None, lake_data: str | None = None
) -> list[str]:
    """The SET statements of the lockdown, in order; the interactive shell runs the same ones.

    writable_dir is created if missing. lake_data is a DuckLake's data path, whose Parquet
    files the warehouse itself is made of.
    """
    statements = list(_LOCKDOWN)
    directories = [lake_data.replace("'", "''")] if lake_data else []
    if writable_dir is not None:
        writable_dir.mkdir(parents=True, exist_ok=True)
        allowed = str(writable_dir.resolve()).replace("'", "''")
        directories.append(f"{allowed}/")  # files inside it
        statements.append(f"SET allowed_paths = ['{allowed}']")  # and itself, for partitioned COPY
    if directories:
        listed = ", ".join(f"'{d}'" for d in directories)
        statements.append(f"SET allowed_directories = [{listed}]")
    statements.append("SET enable_external_access = false")
    statements.append("SET lock_configuration = true")
    return statements
