"""`newsflow demo`: the bundled sites ingested, then their translation shown, or explained.

The test runs the real demo as its own process (fixture site on 127.0.0.1, ingest flow on a
Prefect API server, a DuckDB file) with its own empty Argos package folder. Offline, the index
is 127.0.0.1:9 as everywhere in the tests; the install path is served a local index of tiny
test packages.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from argos_package import build_argos_package, served_index
from conftest import FAST_POLITENESS

from flows.cli import DEMO_LANGUAGES, SIDE_BY_SIDE_SQL


@pytest.fixture
def demo(prefect_api, tmp_path: Path) -> dict[str, str]:
    """The demo's environment: a fresh warehouse, an empty Argos folder, the test API server.

    The demo runs as its own process, as a user starts it (and so Prefect's log handlers never
    hold this test's captured output).
    """
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        env[var] = str(tmp_path / var.lower())
    env["ARGOS_PACKAGES_DIR"] = str(tmp_path / "packages")
    env["NEWSFLOW_DB"] = str(tmp_path / "newsflow.duckdb")
    env["NEWSFLOW_POLITENESS"] = FAST_POLITENESS
    env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    return env


def _run_demo(env: dict[str, str], port: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "demo", "--port", port],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _by_status(env: dict[str, str]) -> dict[tuple[str, str], int]:
    with duckdb.connect(env["NEWSFLOW_DB"], read_only=True) as conn:
        rows = conn.sql(
            "select language, translation_status, count(*) from articles group by all"
        ).fetchall()
    return {(lang, status): n for lang, status, n in rows}


def test_the_demo_explains_the_missing_models_offline_then_installs_them_and_translates(
    demo, tmp_path: Path
):
    """A newcomer's two runs: first offline (the index is 127.0.0.1:9), then with an index."""
    port = _free_port()  # both runs at one address, as a user's `newsflow demo` twice
    out = _run_demo(demo, port)
    waiting = {
        lang: n for (lang, status), n in _by_status(demo).items() if status == "pending_model"
    }
    assert set(waiting) >= set(DEMO_LANGUAGES)
    assert "cannot read the Argos package index at http://127.0.0.1:9/" in out
    assert f"{sum(waiting.values())} articles wait for a translation model:" in out
    for lang, count in waiting.items():
        assert f"{count} in {lang}" in out
    assert "newsflow models install ru zh az" in out
    assert "newsflow models install --file PATH.argosmodel" in out
    assert f'newsflow sql "{SIDE_BY_SIDE_SQL}"' in out
    with duckdb.connect(demo["NEWSFLOW_DB"], read_only=True) as conn:
        ferries = conn.sql(
            "select languages from stories where title ilike '%caspian ferry fleet%'"
        ).fetchall()
    assert ferries == [(["az", "en", "ru"],)]  # Caliber.Az's three editions: one story

    served = tmp_path / "index"
    served.mkdir()
    packages = [
        {
            "type": "translate",
            "from_code": code,
            "to_code": "en",
            "package_version": "0.1",
            "links": [build_argos_package(served, code).name],
        }
        for code in DEMO_LANGUAGES
    ]
    with served_index(served, packages) as base:
        out = _run_demo({**demo, "ARGOS_PACKAGE_INDEX": base}, port)
    installed = {path.name for path in (tmp_path / "packages").iterdir()}
    assert installed == {f"translate-{code}_en-0_1" for code in DEMO_LANGUAGES}
    for code in DEMO_LANGUAGES:
        assert f"installed {code}-en 0.1" in out
    statuses = _by_status(demo)
    for code in DEMO_LANGUAGES:
        assert statuses[(code, "done")] == waiting[code]
        assert (code, "pending_model") not in statuses
    assert "wait for a translation model" not in out
    side_by_side = out.split("Original and English side by side:")[1]
    assert "original" in side_by_side and "english" in side_by_side
    assert "阿塞拜疆" in side_by_side  # a Chinese title beside its English


def _free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])
