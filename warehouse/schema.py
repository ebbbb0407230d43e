"""Versioned schema: migrations applied in order on connect, recorded in schema_version.

Each migration is a file warehouse/migrations/NNNN_name.sql (statements) or NNNN_name.py (an
`apply(conn, adapt)` for a step SQL cannot do, such as moving data to files); its number is its
version. Add a new file to change the schema; never edit one that has shipped.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path

import duckdb

from warehouse import lake
from warehouse.sql import transaction

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
Adapt = Callable[[str], str]  # DuckDB's SQL made fit for DuckLake (lake.adapt), or unchanged
Apply = Callable[[duckdb.DuckDBPyConnection, Adapt], None]


@cache
def migrations() -> tuple[tuple[int, Apply], ...]:
    """(version, how to apply it) of every migration file, in version order."""
    found: list[tuple[int, Apply]] = []
    for path in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.*")):
        if path.suffix == ".sql":
            found.append((int(path.name[:4]), partial(_run_sql, path.read_text(encoding="utf-8"))))
        elif path.suffix == ".py":
            found.append((int(path.name[:4]), _load_step(path)))
    versions = [v for v, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version in {MIGRATIONS_DIR}")
    return tuple(found)


def _run_sql(sql: str, conn: duckdb.DuckDBPyConnection, adapt: Adapt) -> None:
    conn.execute(adapt(sql))


def _load_step(path: Path) -> Apply:
    spec = importlib.util.spec_from_file_location(f"warehouse.migrations.m{path.stem}", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load migration {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.apply


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
    after a higher one (parallel work on the schema) is still applied, not skipped. The files
    run without keys, indexes and sequences on both backends (lake.adapt): DuckLake has none,
    and on the DuckDB file they made each checkpoint rewrite the whole table (migration 0014).
    On DuckLake (on_lake) the writer_turn row that serializes its writers is created.
    """
    adapt = lake.adapt
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
    missing = [(number, apply) for number, apply in migrations() if number not in applied]
    if not missing:  # every connection asks: a warehouse up to date answers in one query
        return max(applied, default=0)
    for number, apply in missing:
        with transaction(conn):
            # read again in the transaction: another worker may have applied it meanwhile
            done = conn.execute("SELECT count(*) FROM schema_version WHERE version = ?", [number])
            if done.fetchone() == (0,):
                apply(conn, adapt)
                conn.execute("INSERT INTO schema_version VALUES (?, now())", [number])
    return current_version(conn)
