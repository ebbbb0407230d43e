"""Connections to the DuckDB file, the sources table and the runs table."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import duckdb
import pyarrow as pa

from core.settings import current as current_settings
from warehouse import lake, runners
from warehouse.reports import SourceReport
from warehouse.schema import migrate
from warehouse.sql import merge

if TYPE_CHECKING:  # the command line's reads need not import the sources' schema
    from connectors.config import Source

# A writer's DuckDB buffer pool (the pipeline's commits) otherwise grows to 80% of the
# machine's memory; past this it evicts cached blocks and spills operators to disk.
MEMORY_LIMIT = "512MB"
WRITE_WAIT_SECONDS = 300.0  # a writer waits out another run's load, clusters and index
READ_WAIT_SECONDS = 10.0  # how long `newsflow sql` and `newsflow search` wait out a writer
WAIT_LOG_SECONDS = 30.0  # a waiting writer says who holds the file this often
WATCH_SECONDS = 0.1  # how often a held writer looks for processes waiting for the file
DEFER_SECONDS = 2.0  # how long a writer that let go waits for a waiter to get in, at most
# Not a Prefect logger: flows forward it to the run's log (PREFECT_LOGGING_EXTRA_LOGGERS=newsflow).
log = logging.getLogger("newsflow.warehouse")
T = TypeVar("T")
_HOLDER = re.compile(r"PID (\d+)")
# Threads of one process (a run's sources and chunks) take turns on the file: DuckDB attaches
# and detaches the database on the first connect and the last close, and two threads doing
# that at once fail with "Unique file handle conflict". Writes serialize in DuckDB anyway.
_IN_PROCESS = threading.RLock()


@dataclass
class _Hold:
    """The write connection a process keeps across its operations while a holding() block runs."""

    scopes: int = 0
    conn: duckdb.DuckDBPyConnection | None = None
    stop: threading.Event = field(default_factory=threading.Event)


_HOLDS: dict[Path, _Hold] = {}  # by the file's absolute path; changed under _IN_PROCESS


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file for writing longer than we waited."""


@dataclass(frozen=True)
class RunRecord:
    """A flow run (one try of it) as the runs table keeps it; the counts come from its fetch log."""

    run_id: str
    attempt: int
    flow: str
    started_at: datetime | None
    ended_at: datetime
    parameters: dict[str, object]


def db_path() -> Path:
    """The warehouse file the settings name (core.settings): ./data/newsflow.duckdb by default."""
    return current_settings().db_path


def backend(path: Path | None = None) -> lake.Lake | None:
    """The DuckLake the warehouse lives in, or None for a DuckDB file (an explicit path is one)."""
    return None if path is not None else lake.configured()


@contextmanager
def connect(
    path: Path | None = None,
    read_only: bool = False,
    wait_seconds: float = WRITE_WAIT_SECONDS,
    log_every: float = WAIT_LOG_SECONDS,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection; writers migrate the schema, everyone waits out a busy file.

    DuckDB lets one process write a file at a time, so a second process retries for
    wait_seconds, logging who holds the file every log_every seconds, and then fails with a
    message that says what holds it. On DuckLake (the settings' warehouse) nobody waits: readers
    get a fresh read-only attachment, writers a connection of the process's attached lake.
    """
    shared = backend(path)
    if shared is not None:
        yield from _open_lake(shared, read_only)
        return
    path = Path(path or db_path())
    if read_only and not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `newsflow ingest` or `newsflow demo`")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _IN_PROCESS:
        hold = _HOLDS.get(path.absolute())
        if hold is None:
            yield from _open(path, read_only, wait_seconds, log_every)
        elif read_only:  # DuckDB refuses a reader beside this process's own writer
            _let_go(hold)
            yield from _open(path, read_only, wait_seconds, log_every)
        else:
            yield from _held(path, hold, wait_seconds, log_every)


@contextmanager
def holding(path: Path | None = None) -> Iterator[None]:
    """Within this block the process's writes to the file share one connection, closed at its end.

    Each close checkpoints (DuckDB writes the WAL's rows into the file and syncs it): a third
    of a chunk's commit with short connections. A held one checkpoints at DuckDB's WAL
    threshold instead, and a kill -9 loses nothing committed (the next open replays the WAL).
    DuckDB locks the file while it is open, so a process that waits for it (`newsflow sql`,
    another run) says so beside the file (waiting_for), and the holder lets go as soon as the
    operation in progress ends, then waits for it to get in before opening again. Blocks nest
    and may run in several threads at once; on DuckLake this does nothing.
    """
    if backend(path) is not None:
        yield
        return
    key = Path(path or db_path()).absolute()
    with _IN_PROCESS:
        hold = _HOLDS.setdefault(key, _Hold())
        hold.scopes += 1
        if hold.scopes == 1:
            name = f"newsflow-hold-{key.name}"
            threading.Thread(target=_watch, args=(key, hold), name=name, daemon=True).start()
    try:
        yield
    finally:
        with _IN_PROCESS:
            hold.scopes -= 1
            if hold.scopes == 0:
                del _HOLDS[key]
                hold.stop.set()
                _let_go(hold)


@contextmanager
def waiting_for(path: Path) -> Iterator[None]:
    """Tell a process holding the file (holding()) that this one waits for it, while the block
    runs: one empty file named by this process's id in `<file>.waiting/`. Best effort: where
    it cannot be written (a read-only directory), the holder lets go at its block's end only."""
    mark = _waiting_dir(path) / str(os.getpid())
    try:
        mark.parent.mkdir(exist_ok=True)
        mark.touch(exist_ok=False)
    except OSError:  # FileExistsError: an outer block of this process marked it
        yield
        return
    try:
        yield
    finally:
        mark.unlink(missing_ok=True)


def _waiting_dir(path: Path) -> Path:
    return path.with_name(f"{path.name}.waiting")


def _others_waiting(path: Path) -> bool:
    """Whether another live process waits for the file; marks of dead ones are removed."""
    try:
        names = os.listdir(_waiting_dir(path))
    except OSError:
        return False
    waiting = False
    for name in names:
        if name == str(os.getpid()) or not name.isdigit():
            continue
        if runners.running(int(name)):
            waiting = True
        else:
            (_waiting_dir(path) / name).unlink(missing_ok=True)
    return waiting


def _watch(path: Path, hold: _Hold) -> None:
    """Let go of the held connection once another process waits, between two operations."""
    while not hold.stop.wait(WATCH_SECONDS):
        if hold.conn is not None and _others_waiting(path):
            with _IN_PROCESS:  # the operation in progress ends first
                if not hold.stop.is_set():
                    try:
                        _let_go(hold)
                    except duckdb.Error as exc:  # the next operation opens afresh and sees it
                        log.warning("closing the held connection to %s failed: %s", path, exc)


def _let_go(hold: _Hold) -> None:
    """Close the held connection (DuckDB checkpoints); the next write opens another."""
    conn, hold.conn = hold.conn, None
    if conn is not None:
        conn.close()


def _held(
    path: Path, hold: _Hold, wait_seconds: float, log_every: float
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The held connection, opened if need be; one that an operation failed on is closed."""
    if hold.conn is None:
        deadline = time.monotonic() + DEFER_SECONDS
        while _others_waiting(path) and time.monotonic() < deadline:
            time.sleep(0.02)  # after letting go: the waiter first, else it may never get in
        hold.conn = _connect(path, False, wait_seconds, log_every)
    try:
        yield hold.conn
    except BaseException:
        _let_go(hold)
        raise


def _open(
    path: Path, read_only: bool, wait_seconds: float, log_every: float
) -> Iterator[duckdb.DuckDBPyConnection]:
    conn = _connect(path, read_only, wait_seconds, log_every)
    try:
        yield conn
    finally:
        conn.close()


def _connect(
    path: Path, read_only: bool, wait_seconds: float, log_every: float
) -> duckdb.DuckDBPyConnection:
    """A new connection, once the file is free; writers set the memory cap and migrate."""
    try:
        conn = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        with waiting_for(path):
            conn = _wait(path, read_only, wait_seconds, log_every)
    try:
        if not read_only:  # a reader may be locked down (the sandbox): it sets nothing
            conn.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _wait(
    path: Path, read_only: bool, wait_seconds: float, log_every: float
) -> duckdb.DuckDBPyConnection:
    started = time.monotonic()
    next_log = started + log_every
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            waited = time.monotonic() - started
            if waited >= wait_seconds:
                busy = WarehouseBusy(
                    f"warehouse {path} is busy: {_holder(str(exc))} is writing to it "
                    f"(waited {wait_seconds:g} s); try again when it has finished"
                )
                log.error("%s", busy)
                raise busy from exc
            if time.monotonic() >= next_log:
                log.warning(
                    "waiting for warehouse %s: %s holds it (%.0f s of %g s)",
                    path,
                    _holder(str(exc)),
                    waited,
                    wait_seconds,
                )
                next_log += log_every
            time.sleep(0.2)


def _open_lake(shared: lake.Lake, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    if not read_only:
        with lake.session(shared, _migrate_lake) as conn:
            yield conn
        return
    conn = lake.open_lake(shared, read_only=True)  # its own: the sandbox locks it down for good
    try:
        yield conn
    finally:
        conn.close()


def _migrate_lake(conn: duckdb.DuckDBPyConnection) -> int:
    return migrate(conn, on_lake=True)


def write(operation: Callable[[duckdb.DuckDBPyConnection], T], path: Path | None = None) -> T:
    """One write operation of the pipeline, whole, on whichever backend is configured.

    On the DuckDB file it holds the write connection for the operation; on DuckLake it runs
    in one transaction, taken again from the start after a conflict with another worker.
    """
    shared = backend(path)
    if shared is not None:
        return lake.write(shared, _migrate_lake, operation)
    with connect(path) as conn:
        return operation(conn)


def register_sources(conn: duckdb.DuckDBPyConnection, sources: Sequence[Source]) -> None:
    """Upsert the configured sources so articles can be joined to their names."""
    now = datetime.now(UTC)
    rows = [
        {
            "id": s.id,
            "name": s.name,
            "kind": s.kind,
            "base_url": s.base_url,
            "language": s.language,
            "updated_at": now,
        }
        for s in sources
    ]
    if not rows:
        return
    merge(conn, "sources", pa.Table.from_pylist(rows), ["id"])


def record_run(
    conn: duckdb.DuckDBPyConnection,
    run: RunRecord,
    reports: Sequence[SourceReport],
    state: str | None = None,
) -> None:
    """Write (or rewrite) a run try's row: totals of the per-source figures its summary shows."""
    row = {
        "run_id": run.run_id,
        "attempt": run.attempt,
        "flow": run.flow,
        "started_at": _utc(run.started_at),
        "ended_at": _utc(run.ended_at),
        "parameters": json.dumps(run.parameters, default=str),
        "fetched": sum(r.fetched for r in reports),
        "new": sum(r.new for r in reports),
        "duplicate": sum(r.duplicate for r in reports),
        "failed": sum(r.failed for r in reports),
        "translated": sum(r.translated for r in reports),
        "state": state,
        "runner": runners.this_process(),
    }
    merge(conn, "runs", pa.Table.from_pylist([row], _RUN_SCHEMA), ["run_id", "attempt"])


_RUN_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("attempt", pa.int32()),
        ("flow", pa.string()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("ended_at", pa.timestamp("us", tz="UTC")),
        ("parameters", pa.string()),
        ("fetched", pa.int32()),
        ("new", pa.int32()),
        ("duplicate", pa.int32()),
        ("failed", pa.int32()),
        ("translated", pa.int32()),
        ("state", pa.string()),
        ("runner", pa.string()),
    ]
)


def close_abandoned_runs(conn: duckdb.DuckDBPyConnection, now: datetime) -> list[str]:
    """Mark Crashed the runs left Running by processes of this host that died; their ids."""
    rows = conn.execute("SELECT run_id, attempt, runner FROM runs WHERE state = 'Running'")
    dead = [
        (run_id, attempt)
        for run_id, attempt, runner in rows.fetchall()
        if runner and runners.is_dead(runner)
    ]
    for run_id, attempt in dead:
        conn.execute(
            "UPDATE runs SET state = 'Crashed', ended_at = ? WHERE run_id = ? AND attempt = ?",
            [now, run_id, attempt],
        )
    return [run_id for run_id, _ in dead]


def run_outcomes(
    conn: duckdb.DuckDBPyConnection, run_id: str, attempt: int = 1
) -> dict[str, dict[str, int]]:
    """How many URLs of a run's try ended in each outcome, per source, as the fetch log says."""
    rows = conn.execute(
        "SELECT source_id, outcome, count(*) FROM fetch_log WHERE run_id = ? AND attempt = ? "
        "GROUP BY ALL ORDER BY ALL",
        [run_id, attempt],
    ).fetchall()
    summary: dict[str, dict[str, int]] = {}
    for source_id, outcome, count in rows:
        summary.setdefault(source_id, {})[outcome] = count
    return summary


def _holder(message: str) -> str:
    """Which process holds the file, from DuckDB's lock error: its PID and command line."""
    match = _HOLDER.search(message)
    if not match:
        return "another process"
    try:
        raw = Path(f"/proc/{match[1]}/cmdline").read_bytes()
        command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        command = ""
    return f"process {match[1]}" + (f" ({command})" if command else "")


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
