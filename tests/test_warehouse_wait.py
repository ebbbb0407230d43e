"""A writer that waits for the warehouse says who holds it, and why it finally gave up; a run's
held connection (store.holding) lets readers and other writers in and survives a kill -9."""

import logging
import subprocess
import sys
import time

import duckdb
import pytest
from holding_stream import stream_writes

from warehouse import store

HOLD = """
import sys, time, duckdb
conn = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""


@pytest.fixture
def held_by_a_notebook(tmp_path):
    """Another process (an analyst's notebook, say) holds the warehouse file for writing."""
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        yield path, holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_a_waiting_writer_logs_the_holder_regularly_then_the_final_error(
    held_by_a_notebook, caplog
):
    path, pid = held_by_a_notebook
    with (
        caplog.at_level(logging.WARNING, logger="newsflow.warehouse"),
        pytest.raises(store.WarehouseBusy, match=f"process {pid}"),
        store.connect(path, wait_seconds=1.6, log_every=0.5),
    ):
        pass
    waits = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert 2 <= len(waits) <= 3
    assert all(f"process {pid} (" in r.getMessage() for r in waits)
    assert "holds it" in waits[0].getMessage()
    [final] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "waited 1.6 s" in final.getMessage()


def _chunks(path):
    with store.connect(path, read_only=True, wait_seconds=10) as conn:
        return conn.execute("SELECT count(*), count(DISTINCT i) FROM chunks").fetchone()


def test_a_held_connection_skips_the_checkpoints_and_a_kill_9_loses_no_commit(tmp_path):
    path = tmp_path / "w.duckdb"
    stream = stream_writes(path, 1000)
    try:
        wal = path.with_name("w.duckdb.wal")
        assert wal.stat().st_size > 0  # the commits are in the WAL: nobody has checkpointed
    finally:
        stream.kill()
        stream.wait()
    count, distinct = _chunks(path)  # the WAL is replayed
    assert count == distinct >= 3


def test_newsflow_sql_gets_in_while_a_run_holds_the_file_and_the_run_goes_on(
    tmp_path, configure, capsys
):
    from flows.cli import main

    path = tmp_path / "w.duckdb"
    configure(db=path)
    stream = stream_writes(path, 60)  # about 6 s of writes
    try:
        for _ in range(3):
            started = time.monotonic()
            assert main(["sql", "select count(*) as n from chunks", "--format", "csv"]) == 0
            assert time.monotonic() - started < store.READ_WAIT_SECONDS
            seen = int(capsys.readouterr().out.split()[-1])
            assert seen >= 3
        assert stream.stdout.readline().strip() == "done"
        assert stream.wait(timeout=30) == 0
    finally:
        stream.kill()
        stream.wait()
    assert _chunks(path) == (60, 60)
    assert not list(path.with_name("w.duckdb.waiting").iterdir())


def test_this_process_reads_and_writes_beside_its_own_held_connection(tmp_path):
    path = tmp_path / "w.duckdb"
    with store.holding(path):
        with store.connect(path) as conn:
            conn.execute("CREATE TABLE chunks (i INTEGER)")
            conn.execute("INSERT INTO chunks VALUES (1)")
            held = conn
        with store.connect(path) as conn:
            assert conn is held
        assert _chunks(path) == (1, 1)  # DuckDB refuses a reader beside a writer: it let go
        with pytest.raises(duckdb.CatalogException), store.connect(path) as conn:
            conn.execute("INSERT INTO nosuch VALUES (1)")
        with store.connect(path) as conn:  # a connection an operation failed on is not kept
            assert conn is not held
            conn.execute("INSERT INTO chunks VALUES (2)")
    assert _chunks(path) == (2, 2)
    assert not path.with_name("w.duckdb.wal").exists()  # the block's end checkpointed
