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


class NoServer(RuntimeError):
    """The Prefect server a command was to run on is gone."""


def prefect_server() -> bool:
    """Whether a Prefect API is configured (environment or profile) or `newsflow serve` runs."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    if "prefect" in sys.modules or _prefect_settings_elsewhere():
        from prefect.settings import PREFECT_API_URL  # a profile's, or a test harness's

        if PREFECT_API_URL.value():
            return True
    return served_api() is not None


def say_here(doing: str) -> None:
    """A one-off command's first line when it runs in its own process."""
    print(f"{doing} in this process (no Prefect server) …", flush=True)


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
def prefect_api() -> Iterator[str]:
    """The Prefect API a flow run of this command goes to, for as long as the block lasts:
    PREFECT_API_URL (environment or profile), else a running `newsflow serve`."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if configured := PREFECT_API_URL.value():
        yield configured
        return
    served = served_api()
    if served is None:
        raise NoServer(f"no Prefect server answers on port {SERVE_PORT} any more")
    with temporary_settings({PREFECT_API_URL: served}):
        yield served
