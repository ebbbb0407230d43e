"""newsflow's settings: one typed object, the only place that reads NEWSFLOW_* variables.

An entry point builds it once, from the environment and its flags: the CLI for its command,
`newsflow serve` for the stack it starts, a flow run from its worker's environment (which is
how deployments pass settings to their runs). It hands values down as parameters; code that
is not handed one asks `current()`: the settings an entry point or a test installed with
`use()`, else those the environment gives. Tests build settings and `use` them instead of
setting variables, except where the environment is what they test (a subprocess, `serve`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

LAKE_PREFIX = "ducklake:"
DEFAULT_DB = Path("data") / "newsflow.duckdb"

# The variables, by the field each sets (README "Configuration" lists them for users).
VARIABLES = {
    "sources_file": "NEWSFLOW_SOURCES",
    "base_url": "NEWSFLOW_BASE_URL",
    "politeness": "NEWSFLOW_POLITENESS",
    "db": "NEWSFLOW_DB",
    "warehouse": "NEWSFLOW_WAREHOUSE",
    "lake_data": "NEWSFLOW_LAKE_DATA",
    "archive": "NEWSFLOW_ARCHIVE",
    "workers": "NEWSFLOW_WORKERS",
    "unresponsive_after": "NEWSFLOW_UNRESPONSIVE_AFTER",
    "alert_webhook": "NEWSFLOW_ALERT_WEBHOOK",
    "debug": "NEWSFLOW_DEBUG",
}


class SettingsError(ValueError):
    """A variable whose value cannot be what it sets."""


@dataclass(frozen=True)
class Settings:
    """What the environment and flags configure; defaults are what an empty environment means.

    sources_file: None means ./sources.yaml, else the one shipped. base_url: serve every source
    from <url>/<source id> (the demo and the tests). politeness: overrides for every source,
    "timeout_seconds=3,retries=1" (checked by connectors.config). warehouse: a DuckDB file
    path, or `ducklake:<catalog>` for a DuckLake (then lake_data is where its files go).
    workers: page worker processes, None for one per CPU. unresponsive_after: seconds of
    silence before a run is crashed (checked by flows.unresponsive).
    """

    sources_file: Path | None = None
    base_url: str | None = None
    politeness: str = ""
    db: Path = DEFAULT_DB
    warehouse: str = ""
    lake_data: str | None = None
    archive: Path | None = None
    workers: int | None = None
    unresponsive_after: str | None = None
    alert_webhook: str | None = None
    debug: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **flags: Any) -> Settings:
        """The settings an environment gives (os.environ by default), flags laid over them."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(VARIABLES[name]) or None

        workers = get("workers")
        try:
            count = int(workers) if workers else None
        except ValueError:
            problem = f"{VARIABLES['workers']} must be a number, not {workers!r}"
            raise SettingsError(problem) from None
        built = cls(
            sources_file=Path(path) if (path := get("sources_file")) else None,
            base_url=get("base_url"),
            politeness=get("politeness") or "",
            db=Path(get("db") or DEFAULT_DB),
            warehouse=get("warehouse") or "",
            lake_data=get("lake_data"),
            archive=Path(path) if (path := get("archive")) else None,
            workers=count,
            unresponsive_after=get("unresponsive_after"),
            alert_webhook=get("alert_webhook"),
            debug=bool(get("debug")),
        )
        return replace(built, **flags)

    @property
    def lake(self) -> str | None:
        """The DuckLake catalog the warehouse setting names, or None for a DuckDB file."""
        if self.warehouse.startswith(LAKE_PREFIX):
            return self.warehouse.removeprefix(LAKE_PREFIX)
        return None

    @property
    def db_path(self) -> Path:
        """The warehouse file: the warehouse setting when it is a path, else db."""
        return Path(self.warehouse) if self.warehouse and self.lake is None else self.db


_installed: list[Settings] = []


def current() -> Settings:
    """The settings in force: those last installed with use(), else the environment's."""
    return _installed[-1] if _installed else Settings.from_env()


@contextmanager
def use(settings: Settings) -> Iterator[Settings]:
    """These settings for the whole process while the block runs (threads and flows too)."""
    _installed.append(settings)
    try:
        yield settings
    finally:
        _installed.remove(settings)
