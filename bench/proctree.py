"""Run a command and measure its wall time and the peak RSS of its whole process tree.

The tree counts: newsflow's page work runs in spawned worker processes, and a figure for the
parent alone would hide them. Read from /proc (Linux), sampled every 50 ms, so no dependency.
RSS counts a page shared by two processes (a library, a forked page) in both; the peak is the
issue's figure, so it stays RSS. Beside it, each process's own peaks: RSS, and PSS and USS
(shared pages split, or left out), read from smaps_rollup every PSS_EVERY samples (costlier).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
PSS_EVERY = 10  # samples between two reads of every process's smaps_rollup (0.5 s)


@dataclass
class Peaks:
    """One process's peak bytes resident (RSS), proportional (PSS) and unique (USS)."""

    name: str
    rss: int = 0
    pss: int = 0
    uss: int = 0


@dataclass(frozen=True)
class Measured:
    """What one command cost: seconds of wall time, peak bytes resident (tree), exit status,
    and each process's own peaks (by pid, in the order they were first seen)."""

    wall: float
    peak_rss: int
    returncode: int
    output: str
    processes: dict[int, Peaks] = field(default_factory=dict)


def _children() -> dict[int, list[int]]:
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
    return children


def tree_pids(root: int) -> list[int]:
    """A process and all its descendants right now."""
    children, pids, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, ()))
    return pids


def rss(pid: int) -> int:
    """A process's resident bytes (0 once it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except OSError:
        return 0


def tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants right now."""
    return sum(rss(pid) for pid in tree_pids(root))


def pss_uss(pid: int) -> tuple[int, int]:
    """A process's proportional and unique bytes resident ((0, 0) once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0
    fields = {}
    for line in text.splitlines()[1:]:
        key, _, value = line.partition(":")
        fields[key] = int(value.split()[0]) * 1024
    return fields.get("Pss", 0), fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)


def process_name(pid: int) -> str:
    """What a process of the tree is, in a few words (a spawned worker says so)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in argv if a]
    if any("resource_tracker" in w for w in words):
        return "resource tracker"
    if any("spawn_main" in w for w in words):
        return "spawned worker"
    return " ".join(Path(w).name for w in words[:3])


def run_measured(
    command: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 1800
) -> Measured:
    """Run a command to its end, sampling its tree's RSS; its output is kept for the report."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak = 0
    processes: dict[int, Peaks] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        count = 0
        while not done.is_set():
            pids = tree_pids(process.pid)
            sizes = {pid: rss(pid) for pid in pids}
            peak = max(peak, sum(sizes.values()))
            for pid, size in sizes.items():
                if pid not in processes:
                    processes[pid] = Peaks(process_name(pid))
                processes[pid].rss = max(processes[pid].rss, size)
                if count % PSS_EVERY == 0:
                    pss, uss = pss_uss(pid)
                    processes[pid].pss = max(processes[pid].pss, pss)
                    processes[pid].uss = max(processes[pid].uss, uss)
            count += 1
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
    return Measured(time.perf_counter() - started, peak, process.returncode, output, processes)
