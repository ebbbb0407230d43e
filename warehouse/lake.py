"""DuckLake: the warehouse many workers share, its catalog in PostgreSQL, its data as Parquet.

The settings' warehouse `ducklake:postgres:<libpq settings>` chooses it (the DuckDB file stays
the default); their lake_data is where the Parquet files go, a path every worker sees (it is
recorded in the catalog when the lake is created, so later workers may leave it unset). The
ducklake and postgres extensions load from their registry packages, never from the network.

DuckLake has no PRIMARY KEY or UNIQUE constraint, so keys are kept by serializing the writes:
a write operation waits for its turn (the threads of a process take turns, and processes take
a PostgreSQL advisory lock in the catalog's database), then runs in one transaction that also
bumps one shared row (writer_turn). Waiting for the turn is what makes writers fair: with
conflicts alone, a chunk's commit of a few seconds kept losing to other writers' short lease
transactions until it gave up, and the stream's retry fetched its chunks in flight again. The
writer_turn bump still makes a writer that skips the turn conflict at commit, and the loser
runs its whole operation again on the new snapshot (bounded, logged back-off). Fetching and
extracting, outside these short transactions, run side by side.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import TypeVar

import duckdb

from core.settings import LAKE_PREFIX
from core.settings import current as current_settings
from warehouse.sql import transaction

log = logging.getLogger("newsflow.warehouse")
T = TypeVar("T")
PREFIX = LAKE_PREFIX
TRIES = 12  # a commit that conflicts this often in a row is a real problem: say so
FIRST_WAIT = 0.05  # seconds; doubles each try (with jitter) up to MAX_WAIT
MAX_WAIT = 5.0
TURN_WAIT = "300s"  # a writer waits out other workers' operations this long, then fails
_CATALOG = "lake"
_TURN_LOCK = 0x6E657773  # the advisory lock's key in the catalog's database ("news")
_EXTENSIONS = ("ducklake", "postgres")
# What DuckLake cannot keep; the migrations are written for DuckDB and adapted here.
_UNSUPPORTED = (
    (re.compile(r"^\s*CREATE (?:UNIQUE )?INDEX[^;]*;", re.I | re.M), ""),
    (re.compile(r"^\s*CREATE SEQUENCE[^;]*;", re.I | re.M), ""),
    (re.compile(r"\s+DEFAULT nextval\('[^']*'\)", re.I), ""),
    (re.compile(r",\s*PRIMARY KEY\s*\([^)]*\)", re.I), ""),
    (re.compile(r"\s+PRIMARY KEY", re.I), ""),
)


@dataclass(frozen=True)
class Lake:
    """Where a DuckLake lives: its catalog database and (on creation) its data path."""

    catalog: str  # e.g. postgres:host=10.0.0.5 port=5432 dbname=newsflow user=newsflow
    data_path: str | None = None

    def attach_sql(self, read_only: bool = False) -> str:
        """The ATTACH statement that opens this lake as the catalog `lake`."""
        options = [f"DATA_PATH '{_quote(self.data_path)}'"] if self.data_path else []
        if read_only:
            options.append("READ_ONLY")
        suffix = f" ({', '.join(options)})" if options else ""
        return f"ATTACH '{PREFIX}{_quote(self.catalog)}' AS {_CATALOG}{suffix}"


class LakeConflict(RuntimeError):
    """Another worker's commits kept conflicting with this one beyond the retries."""


def configured() -> Lake | None:
    """The lake the settings' warehouse names (core.settings), or None for a DuckDB file."""
    chosen = current_settings()
    if chosen.lake is None:
        return None
    data = chosen.lake_data
    if data and "://" not in data:
        data = str(Path(data).resolve()) + "/"
    return Lake(chosen.lake, data or None)


def adapt(sql: str) -> str:
    """A migration as DuckLake takes it: no keys, indexes or sequences (they only enforce)."""
    for pattern, replacement in _UNSUPPORTED:
        sql = pattern.sub(replacement, sql)
    return sql


@cache
def extension_file(name: str) -> Path:
    """The extension shipped in the duckdb-extension-<name> package."""
    spec = find_spec(f"duckdb_extension_{name}")
    roots = spec.submodule_search_locations if spec else None
    found = sorted(p for root in roots or [] for p in Path(root).rglob(f"{name}.duckdb_extension"))
    if not found:
        raise RuntimeError(f"the {name} extension is missing: pip install duckdb-extension-{name}")
    return found[-1]


def open_lake(lake: Lake, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB with the lake attached and selected."""
    conn = duckdb.connect()
    try:
        for name in _EXTENSIONS:
            conn.execute(f"INSTALL '{extension_file(name)}'")
            conn.execute(f"LOAD {name}")
        conn.execute(lake.attach_sql(read_only))
        conn.execute(f"USE {_CATALOG}")
    except BaseException:
        conn.close()
        raise
    return conn


_instances: dict[Lake, duckdb.DuckDBPyConnection] = {}
_lock = threading.Lock()
_turns: dict[Lake, duckdb.DuckDBPyConnection | None] = {}
_writing = threading.Lock()  # this process's writers take turns (they would only conflict)


@contextmanager
def session(
    lake: Lake, migrate: Callable[[duckdb.DuckDBPyConnection], object]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection of this process's lake instance (attached once, migrated once)."""
    with _lock:
        if lake not in _instances:
            instance = _retrying(lambda: open_lake(lake), "catalog creation", _creating)
            _retrying(lambda: _migrated(instance, migrate), "migration")
            _instances[lake] = instance
        conn = _cursor(_instances[lake])
    try:
        yield conn
    finally:
        conn.close()


def _migrated(
    instance: duckdb.DuckDBPyConnection, migrate: Callable[[duckdb.DuckDBPyConnection], object]
) -> None:
    conn = _cursor(instance)
    try:
        migrate(conn)
    finally:
        conn.close()


def _cursor(instance: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A connection of its own on the instance, in the lake (USE is per connection)."""
    conn = instance.cursor()
    conn.execute(f"USE {_CATALOG}")
    return conn


def write(
    lake: Lake,
    migrate: Callable[[duckdb.DuckDBPyConnection], object],
    operation: Callable[[duckdb.DuckDBPyConnection], T],
) -> T:
    """Run one write operation whole in one transaction, again after another worker's commit."""

    def attempt() -> T:
        # a conflict surfaces at the transaction's COMMIT, on leaving the block
        with session(lake, migrate) as conn, transaction(conn, spanning=True):
            conn.execute("UPDATE writer_turn SET turn = turn + 1")
            return operation(conn)

    with _turn(lake):
        return _retrying(attempt, "commit")


@contextmanager
def _turn(lake: Lake) -> Iterator[None]:
    """This process's turn to write, then (PostgreSQL catalog) the lake's, until it committed.

    The advisory lock is held by a transaction of a connection of its own, so it is released
    after the operation's commit, or when a killed process's connection drops.
    """
    with _writing:
        if lake not in _turns:
            _turns[lake] = _open_turn(lake)
        conn = _turns[lake]
        if conn is None:  # a catalog without advisory locks: conflicts alone serialize
            yield
            return
        with transaction(conn):
            try:
                for statement in (f"SET LOCAL lock_timeout = '{TURN_WAIT}'", _TAKE_TURN):
                    conn.execute("CALL postgres_execute('turn', ?)", [statement])
            except duckdb.Error as error:
                raise LakeConflict(
                    f"waited {TURN_WAIT} for other workers' writes to the warehouse: "
                    f"{str(error).splitlines()[-1]}"
                ) from error
            yield


_TAKE_TURN = f"SELECT pg_advisory_xact_lock({_TURN_LOCK})"


def _open_turn(lake: Lake) -> duckdb.DuckDBPyConnection | None:
    """The connection that takes the write turn in a PostgreSQL catalog; None for others."""
    kind, _, settings = lake.catalog.partition(":")
    if kind != "postgres":
        return None
    conn = duckdb.connect()
    try:
        conn.execute(f"INSTALL '{extension_file('postgres')}'")
        conn.execute("LOAD postgres")
        conn.execute(f"ATTACH '{_quote(settings)}' AS turn (TYPE postgres)")
    except BaseException:
        conn.close()
        raise
    return conn


def is_conflict(error: duckdb.Error) -> bool:
    """True for DuckLake's "another transaction changed this first" (worth trying again)."""
    text = str(error)
    return "Transaction conflict" in text or "Failed to commit DuckLake" in text


def _creating(error: duckdb.Error) -> bool:
    """Two workers that open a new lake at once race to create its catalog; one loses."""
    text = str(error)
    return "Failed to initialize DuckLake" in text and "already exists" in text


def _retrying(
    action: Callable[[], T], what: str, retryable: Callable[[duckdb.Error], bool] = is_conflict
) -> T:
    for attempt in range(1, TRIES + 1):
        try:
            return action()
        except duckdb.Error as error:
            if not retryable(error):
                raise
            if attempt == TRIES:
                raise LakeConflict(
                    f"warehouse {what} conflicted with other workers {TRIES} times in a row: "
                    f"{str(error).splitlines()[-1]}"
                ) from error
            wait = min(FIRST_WAIT * 2**attempt, MAX_WAIT) * random.uniform(0.5, 1.0)
            log.info(
                "warehouse %s conflicted with another worker's (try %d of %d), again in %.2f s",
                what,
                attempt,
                TRIES,
                wait,
            )
            time.sleep(wait)
    raise AssertionError("unreachable")


def _quote(text: str) -> str:
    return text.replace("'", "''")


def data_dir(conn: duckdb.DuckDBPyConnection) -> str | None:
    """The data path of the lake this connection has attached (None on a DuckDB file)."""
    attached = conn.execute(
        "SELECT count(*) FROM duckdb_databases() WHERE database_name = ? AND type = 'ducklake'",
        [_CATALOG],
    ).fetchone()
    if not attached or not attached[0]:
        return None
    row = conn.execute(
        f"SELECT value FROM __ducklake_metadata_{_CATALOG}.ducklake_metadata "
        "WHERE key = 'data_path'"
    ).fetchone()
    return str(row[0]) if row else None


def data_bytes(conn: duckdb.DuckDBPyConnection) -> int | None:
    """Bytes of the Parquet files the attached lake's catalog lists (None on a DuckDB file)."""
    if data_dir(conn) is None:
        return None
    metadata = f"__ducklake_metadata_{_CATALOG}"
    row = conn.execute(
        f"SELECT (SELECT coalesce(sum(file_size_bytes), 0) FROM {metadata}.ducklake_data_file)"
        f" + (SELECT coalesce(sum(file_size_bytes), 0) FROM {metadata}.ducklake_delete_file)"
    ).fetchone()
    return int(row[0]) if row else 0
