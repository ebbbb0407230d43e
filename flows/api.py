"""Where a one-off command runs: as a flow run on a Prefect API when one is configured
(PREFECT_API_URL, a profile) or `newsflow serve` answers on its port, else in the command's own
process (pipeline/here.py), recorded in the warehouse as a flow run would be.

Light to import: deciding must not cost Prefect's import (a second) when no server is there.
"""

from __future__ import annotations

import os
import socket
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVE_PORT = 4200  # `newsflow serve`'s default port, where a one-off command looks for it


def prefect_server() -> str | None:
    """The Prefect API a one-off command runs its flow on: PREFECT_API_URL (environment or
    profile), else a `newsflow serve` answering on its port; None when there is neither."""
    if configured := os.environ.get("PREFECT_API_URL"):
        return configured
    if "prefect" in sys.modules or _prefect_settings_elsewhere():
        from prefect.settings import PREFECT_API_URL  # a profile's, or a test harness's

        if configured := PREFECT_API_URL.value():
            return configured
    return served_api()


def say_where(doing: str, api: str | None) -> None:
    """A one-off command's first line, before the imports of its work: where it runs."""
    where = f"as a flow run on {api}" if api else "in this process (no Prefect server)"
    print(f"{doing} {where} …", flush=True)


def served_api() -> str | None:
    """The API of a `newsflow serve` answering on its default port, if one does."""
    with socket.socket() as sock:
        sock.settimeout(1)
        if sock.connect_ex(("127.0.0.1", SERVE_PORT)) != 0:
            return None  # nothing listens: no need to import an HTTP client to ask
    from flows.serve import api_is_healthy

    api = f"http://127.0.0.1:{SERVE_PORT}/api"
    return api if api_is_healthy(api) else None


def _prefect_settings_elsewhere() -> bool:
    """Whether Prefect could read settings from somewhere other than PREFECT_* variables: a
    profiles file, or ./.env, ./prefect.toml or ./pyproject.toml's [tool.prefect] (its sources
    besides the environment). Only then is Prefect imported to read them."""
    if os.environ.get("PREFECT_PROFILE") or os.environ.get("PREFECT_PROFILES_PATH"):
        return True
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect")
    if (home / "profiles.toml").exists() or Path(".env").is_file():
        return True
    if Path("prefect.toml").is_file():
        return True
    try:
        with open("pyproject.toml", "rb") as file:
            return "prefect" in tomllib.load(file).get("tool", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False


@contextmanager
def prefect_api(api: str) -> Iterator[None]:
    """Flow runs started in the block go to this Prefect API (prefect_server's answer)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api}):
        yield
