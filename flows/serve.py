"""The whole thing on one machine: a local Prefect server, prefect.yaml deployed, and a worker.

`newsflow serve` uses it for users; the end-to-end test uses it to run a backfill exactly as
the UI's Run button does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from connectors.config import PROJECT_ROOT

WORK_POOL = "newsflow"
DEFAULT_PORT = 4200


class StackError(RuntimeError):
    """A part of the local stack did not start; the message says which and where its log is."""


@dataclass
class LocalStack:
    """Prefect server + work pool + deployments + worker, started and stopped together.

    Everything Prefect keeps (its database, logs of the processes started here) lives in `home`,
    by default the project's data/prefect, so it never touches the user's ~/.prefect.
    """

    home: Path = field(default_factory=lambda: PROJECT_ROOT / "data" / "prefect")
    port: int = DEFAULT_PORT
    project_dir: Path = PROJECT_ROOT
    extra_env: Mapping[str, str] = field(default_factory=dict)
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
            # prefect.yaml's pull step reads {{ $PWD }}: the worker runs flows from here.
            "PWD": str(self.project_dir),
        }

    def start(self, timeout: float = 120.0) -> LocalStack:
        """Start the server, wait until it answers, create the pool, deploy, start a worker."""
        self.home.mkdir(parents=True, exist_ok=True)
        try:
            self._spawn(
                "server", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)
            )
            self._wait_healthy(timeout)
            self._prefect("work-pool", "create", WORK_POOL, "--type", "process", "--overwrite")
            self._prefect("--no-prompt", "deploy", "--all")
            self._spawn("worker", "worker", "start", "--pool", WORK_POOL, "--type", "process")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop what was started, newest first: the worker, then the server."""
        while self._processes:
            _, process = self._processes.pop()
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

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
        log = self.log_path(name).open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", *args],
            cwd=self.project_dir,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
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
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise StackError(
            f"Prefect server did not answer on {self.api_url}; see {self.log_path('server')}"
        )


def serve(port: int = DEFAULT_PORT) -> int:
    """Run the local stack until Ctrl-C; returns non-zero if a part of it dies."""
    stack = LocalStack(port=port)
    print(f"starting Prefect on {stack.ui_url} (logs and database in {stack.home}) …")
    with stack:
        print(f"newsflow is served: open {stack.ui_url}")
        print("  deployments: ingest/daily, ingest/backfill (Run → Custom run to backfill)")
        print(f"  worker on pool '{WORK_POOL}'; Ctrl-C stops everything")
        try:
            while (dead := stack.dead_process()) is None:
                time.sleep(1)
        except KeyboardInterrupt:
            print("\nstopping …")
            return 0
    print(f"the {dead} stopped unexpectedly; see {stack.log_path(dead)}", file=sys.stderr)
    return 1
