"""What a page worker process does before its first page: die with its parent, raise at its
CPU limit, cap the memory a page may add, and install the page path's fast XPaths.

Kept apart from pipeline.pages and light to import: a spawned worker imports the module of its
initializer before running it, and the watch on the parent must start before the seconds the
page path's imports (trafilatura, langdetect) take, so a run killed while its workers start
leaves none behind.
"""

from __future__ import annotations

import os
import resource
import signal
import threading
import time

PARENT_POLL_SECONDS = 0.5

in_worker = False  # set by start: the CPU limit is only ever set in a page worker


class OverCpu(BaseException):
    """Raised in a page worker by SIGXCPU: the page in hand is over its CPU budget (a
    BaseException, so that the page path's own `except Exception` does not take it)."""


def start(parent: int, memory_mb: int) -> None:
    """A page worker's initializer: die with the parent, raise at the CPU limit, and cap the
    memory it may add (address space) at memory_mb past what its imports took."""
    global in_worker
    in_worker = True
    if os.getppid() != parent:  # the parent died before the worker started
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    signal.signal(signal.SIGXCPU, _raise_over_cpu)
    from processing import fast_xpaths  # the page path: its imports count in the base

    fast_xpaths.install()
    import processing.page  # noqa: F401

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space() + memory_mb * 2**20
    if soft == resource.RLIM_INFINITY or limit < soft:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _raise_over_cpu(signum: int, frame: object) -> None:
    raise OverCpu


def _watch_parent(parent: int) -> None:
    """Exit once the parent is gone (the worker was re-parented), however it died. Not
    PR_SET_PDEATHSIG: that fires when the parent's *thread* that started the worker ends, and
    the event loops that use a pool come and go on threads of their own."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


def _address_space() -> int:
    """This process's virtual memory size in bytes (VmSize)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0
