"""Versioned schema: migrations applied in order on connect, recorded in schema_version.

Each migration is a file warehouse/migrations/NNNN_name.sql; its number is its version. Add a
new file to change the schema; never edit one that has shipped.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb

from warehouse import lake
from warehouse.sql import transaction

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


@cache
def migrations() -> tuple[tuple[int, str], ...]:
    """(version, SQL) of every migration file, in version order."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        found.append((int(path.name[:4]), path.read_text(encoding="utf-8")))
    versions = [v for v, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version in {MIGRATIONS_DIR}")
    return tuple(found)


def latest_version() -> int:
    """The version a fully migrated warehouse has."""
    return migrations()[-1][0]


def current_version(conn: duckdb.DuckDBPyConnection) -> int:
    """Schema version of an open warehouse (0 for a new, empty file)."""
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0) if row else 0


def migrate(conn: duckdb.DuckDBPyConnection, on_lake: bool = False) -> int:
    """Bring the schema up to date, each migration in its own transaction; returns the version.

    Every migration not recorded yet is applied, in version order, so a number that lands
    after a higher one (parallel work on the schema) is still applied, not skipped. On DuckLake
    (on_lake) the same files run without the keys, indexes and sequences it lacks, and the
    writer_turn row that serializes its writers (warehouse/lake.py) is created.
    """
    adapt = lake.adapt if on_lake else str
    conn.execute(
        adapt(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ)"
        )
    )
    if on_lake:
        conn.execute("CREATE TABLE IF NOT EXISTS writer_turn (turn BIGINT NOT NULL)")
        conn.execute("INSERT INTO writer_turn SELECT 0 WHERE NOT EXISTS (FROM writer_turn)")
    applied = {row[0] for row in conn.execute("SELECT version FROM schema_version").fetchall()}
    for number, sql in migrations():
        if number in applied:
            continue
        with transaction(conn):
            # read again in the transaction: another worker may have applied it meanwhile
            done = conn.execute("SELECT count(*) FROM schema_version WHERE version = ?", [number])
            if done.fetchone() == (0,):
                conn.execute(adapt(sql))
                conn.execute("INSERT INTO schema_version VALUES (?, now())", [number])
    return current_version(conn)
