"""A writer that waits for the warehouse says who holds it, and why it finally gave up."""

import logging
import subprocess
import sys

import pytest

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
