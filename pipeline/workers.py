"""What a page worker process does before its first page: die with its parent, raise at its
CPU limit, cap the memory a page may add, and install the page path's fast XPaths. And the CPU
budget of a page processed in-process instead (few pages, no workers, `newsflow extract`).

Kept apart from pipeline.pages and light to import: a spawned worker imports the module of its
initializer before running it, and the watch on the parent must start before the seconds the
page path's imports (trafilatura, langdetect) take, so a run killed while its workers start
leaves none behind.
"""

from __future__ import annotations

import ctypes
import math
import os
import resource
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

PARENT_POLL_SECONDS = 0.5
CPU_POLL_SECONDS = 0.05  # how often a thread's CPU clock is read against its page's budget
RESEND_SECONDS = 0.5  # OverCpu again, if the page still runs (the last one was swallowed)

in_worker = False  # set by start: the CPU limit is only ever set in a page worker


class OverCpu(BaseException):
    """Raised in a page worker by SIGXCPU, or in a thread by thread_cpu_budget: the page in
    hand is over its CPU budget (a BaseException, so that the page path's own `except
    Exception` does not take it)."""


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


@contextmanager
def worker_cpu_limit(seconds: float) -> Iterator[None]:
    """In a page worker: SIGXCPU (OverCpu) once the process has spent `seconds` more CPU."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    limit = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (limit, resource.RLIM_INFINITY))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


@contextmanager
def thread_cpu_budget(seconds: float) -> Iterator[None]:
    """In-process: OverCpu in this thread once it has spent `seconds` of its own CPU.

    RLIMIT_CPU is a whole process's, so here a watch reads the thread's CPU clock and raises
    in the thread asynchronously; the exception lands at its next Python instruction (one C
    call, such as a parse, ends first: max_page_elements and max_bytes bound those). One that
    lands where Python ignores exceptions (a weakref or __del__ callback during a collection)
    is swallowed, so the watch sends it again every RESEND_SECONDS until the page is done.
    """
    if not hasattr(time, "pthread_getcpuclockid"):  # no per-thread CPU clock (macOS)
        yield
        return
    ident = threading.get_ident()
    clock = time.pthread_getcpuclockid(ident)
    limit = time.clock_gettime(clock) + seconds
    done, lock = threading.Event(), threading.Lock()

    def watch() -> None:
        wait = CPU_POLL_SECONDS
        while not done.wait(wait):
            if time.clock_gettime(clock) < limit:
                continue
            with lock:  # never after the page is done: the exception would land elsewhere
                if not done.is_set():
                    _raise_in(ident, OverCpu)
            wait = RESEND_SECONDS

    watcher = threading.Thread(target=watch, daemon=True, name="page-cpu-budget")
    watcher.start()
    try:
        yield
    finally:
        while not done.is_set():  # a resent OverCpu may land here once: then try again
            try:
                with lock:
                    done.set()
                    _raise_in(ident, None)  # and one sent but not yet raised is withdrawn
            except OverCpu:
                continue
        watcher.join()


def _raise_in(ident: int, exception: type[BaseException] | None) -> None:
    """Raise `exception` in the thread `ident` at its next Python instruction (None: withdraw
    the one pending)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exception) if exception else None
    )


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
