"""Who is writing: a process named host:pid, so a dead one on this host can be told at once.

Frontier leases and runs left "Running" carry it; a kill -9 or a full disk must not leave
work locked, or a run looking alive, until some timeout.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def this_process() -> str:
    """host:pid of the running process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_dead(runner: str) -> bool:
    """True when runner ("host:pid[:...]") names a process of this host that no longer exists.

    A process on another host is never declared dead here: its lease or row times out instead.
    """
    host, _, rest = runner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return not running(int(pid))


def running(pid: int) -> bool:
    """True while a process exists and is not a zombie: one killed with its parent, adopted by
    a subreaper (`newsflow serve`) that has not reaped it yet, holds nothing any more."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
