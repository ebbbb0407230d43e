"""A run's stream as store.holding() keeps the warehouse: one connection, a write every 0.1 s."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

STREAM = """
import sys, time
from pathlib import Path
from warehouse import store
path, rows = Path(sys.argv[1]), int(sys.argv[2])
with store.holding(path):
    for i in range(rows):
        with store.connect(path) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS chunks (i INTEGER)")
            conn.execute("INSERT INTO chunks VALUES (?)", [i])
        if i == 2:
            print("committed", flush=True)
        time.sleep(0.1)
print("done", flush=True)
"""


def stream_writes(path: Path, rows: int) -> subprocess.Popen[str]:
    """A process writing rows 0..rows-1 into table chunks of path, once three are committed;
    it prints "done" at its end."""
    stream = subprocess.Popen(
        [sys.executable, "-c", STREAM, str(path), str(rows)], stdout=subprocess.PIPE, text=True
    )
    assert stream.stdout is not None and stream.stdout.readline().strip() == "committed"
    return stream
