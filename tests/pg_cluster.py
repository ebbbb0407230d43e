"""A throwaway PostgreSQL cluster on 127.0.0.1 for DuckLake's catalog (tests and bench/scale.py).

initdb in a temporary directory, a free port, trust authentication on loopback only; stopped
and removed on exit, also when the caller fails. PostgreSQL refuses to run as root, so as root
the server runs as the `postgres` user Debian's package creates (else `nobody`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SEARCHED = ("/usr/lib/postgresql/*/bin", "/usr/local/bin", "/usr/bin")


def binaries() -> Path | None:
    """The directory holding initdb and pg_ctl (the newest PostgreSQL found), or None."""
    for pattern in SEARCHED:
        found = sorted(Path("/").glob(pattern.lstrip("/")), reverse=True)
        for directory in found:
            if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
                return directory
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_user() -> str | None:
    """Who runs the server: this user, unless root (then postgres, else nobody)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root with neither a postgres nor a nobody user")


@contextmanager
def cluster() -> Iterator[str]:
    """A running cluster; yields the libpq settings of its database for DuckLake."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed: `make test` installs Debian's postgresql")
    user = _server_user()
    home = Path(tempfile.mkdtemp(prefix="newsflow-pg-"))
    if user:
        shutil.chown(home, user)
    data, port = home / "data", _free_port()

    def run(*command: str) -> None:
        subprocess.run(command, check=True, capture_output=True, user=user, cwd=home)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
        options = f"-h 127.0.0.1 -p {port} -k {home} -c fsync=off"
        log = str(home / "log")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start")
        try:  # the cluster's own database `postgres` holds the catalog
            yield f"postgres:host=127.0.0.1 port={port} dbname=postgres user=postgres"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
    finally:
        shutil.rmtree(home, ignore_errors=True)
