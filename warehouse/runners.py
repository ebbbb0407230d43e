"""Who is writing: a process named host:pid, so a dead one on this host can be told at once.

Frontier leases and runs left "Running" carry it; a kill -9 or a full disk must not leave
work locked, or a run looking alive, until some timeout.
"""

from __future__ import annotations

import os
import socket


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
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
