"""The whole thing on one machine: a local Prefect server, prefect.yaml deployed, and a worker.

`newsflow serve` uses it for users; the end-to-end tests use it to run deployments exactly as
the UI's Run button does; the benchmarks use a server-only stack (one-off commands with no
server configured run in their own process instead, flows/api.py).

No process started here outlives its newsflow process: each child runs in its own process
group and gets SIGTERM from the kernel when newsflow dies (PR_SET_PDEATHSIG), and newsflow is a
child subreaper, so flow-run processes orphaned by a dying worker are still its descendants and
are stopped with the rest.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from connectors.config import PROJECT_ROOT
from core.settings import Settings
from flows.api import SERVE_PORT
from flows.unresponsive import allowed_silence, heartbeat_env, watch_unresponsive_runs
from warehouse.runners import running

WORK_POOL = "newsflow"
STOP_GRACE_SECONDS = 15.0  # a process gets this long after SIGTERM before SIGKILL
IN_FLIGHT = ["PENDING", "RUNNING", "CANCELLING"]
SERVER_ONLY = ("--no-services", "--no-ui")  # a temporary API for one run: no scheduler, no UI
# How often the server frees the concurrency slots of expired leases (Prefect's default 15 s):
# a vanished worker's host slot comes back within flows.pool.HOST_LEASE_SECONDS plus this.
REPOSSESSOR_LOOP_SECONDS = 5
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


class StackError(RuntimeError):
    """A part of the local stack did not start; the message says which and where its log is."""


class _StopRequested(Exception):
    """SIGINT or SIGTERM reached `newsflow serve`."""


@dataclass
class LocalStack:
    """Prefect server + work pool + deployments + worker, started and stopped together.

    Everything Prefect keeps (its database, logs of the processes started here) lives in `home`,
    by default the project's data/prefect, so it never touches the user's ~/.prefect. With
    deployments=False it is only an API server (no UI, no scheduler, no worker), as the
    benchmarks use it.
    """

    home: Path = field(default_factory=lambda: PROJECT_ROOT / "data" / "prefect")
    port: int = SERVE_PORT
    project_dir: Path = PROJECT_ROOT
    extra_env: Mapping[str, str] = field(default_factory=dict)
    deployments: bool = True
    workers: int = 1  # process workers on the pool, each taking at most worker_limit runs at once
    worker_limit: int | None = None
    _processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.ui_url}/api"

    def env(self) -> dict[str, str]:
        """The environment every Prefect process of the stack runs with."""
        return {
            **os.environ,
            **self.extra_env,
            "PREFECT_HOME": str(self.home),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS": str(REPOSSESSOR_LOOP_SECONDS),
            # the warehouse's wait messages (a plain logger) go to the flow run's log too
            "PREFECT_LOGGING_EXTRA_LOGGERS": "newsflow",
            # prefect.yaml's pull step reads {{ $PWD }}: the worker runs flows from here.
            "PWD": str(self.project_dir),
            **heartbeat_env(),
        }

    def start(self, timeout: float = 120.0) -> LocalStack:
        """Check the port, start the server, wait until it answers; then pool, deploy, worker."""
        if not port_is_free(self.port):
            raise StackError(
                f"port {self.port} on 127.0.0.1 is already in use (another `newsflow serve` or "
                f"Prefect server?); stop it or choose another with --port"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        _become_subreaper()
        server = ["server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        try:
            self._spawn("server", *server, *([] if self.deployments else SERVER_ONLY))
            self._wait_healthy(timeout)
            if self.deployments:
                self._prefect("work-pool", "create", WORK_POOL, "--type", "process", "--overwrite")
                self._prefect("--no-prompt", "deploy", "--all")
                self._configure_automations()
                for number in range(1, self.workers + 1):
                    name = "worker" if self.workers == 1 else f"worker-{number}"
                    limit = ["--limit", str(self.worker_limit)] if self.worker_limit else []
                    worker = ["worker", "start", "--pool", WORK_POOL, "--type", "process"]
                    self._spawn(name, *worker, "--name", name, *limit)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the worker (and its flow runs), mark runs it left in flight Crashed, then the
        server. Signals wait until this is done: a second Ctrl-C cannot cut it short."""
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            while self._processes:
                name, process = self._processes.pop()
                if name == "server":
                    self._crash_runs_in_flight()
                _stop_tree(process)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def dead_process(self) -> str | None:
        """Name of a stack process that has exited on its own, if any."""
        return next((name for name, p in self._processes if p.poll() is not None), None)

    def log_path(self, name: str) -> Path:
        return self.home / f"{name}.log"

    def _spawn(self, name: str, *args: str) -> None:
        with self.log_path(name).open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "prefect", *args],
                cwd=self.project_dir,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches newsflow only, which stops each once
                preexec_fn=_die_with_parent,
            )
        self._processes.append((name, process))

    def _prefect(self, *args: str) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "prefect", *args],
            cwd=self.project_dir,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise StackError(f"`prefect {' '.join(args)}` failed:\n{result.stdout}{result.stderr}")

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.dead_process():
                break
            if api_is_healthy(self.api_url):
                return
            time.sleep(0.5)
        raise StackError(
            f"Prefect server did not answer on {self.api_url}; see {self.log_path('server')}"
        )

    def _configure_automations(self) -> None:
        """The automation that ends unresponsive runs Crashed, and the alert automations to
        the settings' alert webhook when the operator has set one. The settings are those of
        the environment the stack's processes run with."""
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from flows.alerts import configure_alerts

        configured = Settings.from_env(self.env())
        with temporary_settings({PREFECT_API_URL: self.api_url}):
            watch_unresponsive_runs(allowed_silence(configured.unresponsive_after))
            if configured.alert_webhook:
                configure_alerts(configured.alert_webhook)

    def _crash_runs_in_flight(self) -> None:
        """Runs the stopped worker left Pending or Running end Crashed, so the UI says so."""
        try:
            runs = httpx.post(
                f"{self.api_url}/flow_runs/filter",
                json={"flow_runs": {"state": {"type": {"any_": IN_FLIGHT}}}},
                timeout=10,
            ).json()
            for run in runs:
                httpx.post(
                    f"{self.api_url}/flow_runs/{run['id']}/set_state",
                    json={
                        "state": {
                            "type": "CRASHED",
                            "name": "Crashed",
                            "message": "newsflow serve stopped while this run was in flight",
                        },
                        "force": True,
                    },
                    timeout=10,
                )
        except httpx.HTTPError:
            pass  # the server is gone already: nothing can be marked


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port (a closing socket in TIME_WAIT is fine)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def api_is_healthy(api_url: str) -> bool:
    """True when a Prefect API answers its health check at this URL."""
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(port: int = SERVE_PORT, home: Path | None = None) -> int:
    """Run the local stack until SIGINT or SIGTERM; non-zero if a part of it dies or won't start.

    Either signal stops worker, flow runs and server once each, and exits 0: the port is free
    for the next `newsflow serve`.
    """
    stack = LocalStack(port=port, **({"home": home} if home else {}))
    previous = {s: signal.signal(s, _request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"starting Prefect on {stack.ui_url} (logs and database in {stack.home}) …")
        with stack:
            print(f"newsflow is served: open {stack.ui_url}", flush=True)
            print("  deployments: ingest/daily, backfill/backfill (Run → Custom run to backfill)")
            print(f"  worker on pool '{WORK_POOL}'; Ctrl-C stops everything", flush=True)
            while (dead := stack.dead_process()) is None:
                time.sleep(0.5)
    except _StopRequested:
        print("stopped: server, worker and runs in flight", flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"the {dead} stopped unexpectedly; see {stack.log_path(dead)}", file=sys.stderr)
    return 1


def _request_stop(signum: int, frame: FrameType | None) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean stop short
    print(f"\n{signal.Signals(signum).name}: stopping …", flush=True)
    raise _StopRequested(signal.Signals(signum).name)


def _stop_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM once to a child and everything below it, a grace period, then SIGKILL."""
    tree = [process.pid, *descendants(process.pid)]
    _signal_all(tree, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline and any(running(pid) for pid in tree):
        process.poll()  # reaps our child, so it stops counting as alive
        time.sleep(0.2)
    _signal_all(tree, signal.SIGKILL)
    process.wait()
    for pid in tree[1:]:  # orphans this process adopted as subreaper
        with suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, sig)


def descendants(root: int) -> list[int]:
    """Every live process below root, read from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def _prctl(option: int, value: int) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _die_with_parent() -> None:
    """In a child, before exec: the kernel sends it SIGTERM when newsflow dies, even by kill -9."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _become_subreaper() -> None:
    """Orphans of our children (a worker's flow runs) become ours, so we can stop them too."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
