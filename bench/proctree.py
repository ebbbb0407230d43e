"""Run a command and measure its wall time and the peak RSS of its whole process tree.

The tree counts: newsflow's page work runs in spawned worker processes, and a figure for the
parent alone would hide them. Read from /proc (Linux), sampled every 50 ms, so no dependency.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Measured:
    """What one command cost: seconds of wall time, peak bytes resident (tree), exit status."""

    wall: float
    peak_rss: int
    returncode: int
    output: str


def tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants right now."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
    return total


def run_measured(
    command: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 1800
) -> Measured:
    """Run a command to its end, sampling its tree's RSS; its output is kept for the report."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        output, _ = process.communicate(timeout=timeout)
    finally:
        done.set()
        sampler.join()
        if process.poll() is None:
            process.kill()
            process.wait()
    return Measured(time.perf_counter() - started, peak, process.returncode, output)
