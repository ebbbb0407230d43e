"""One settings object: every documented NEWSFLOW_* variable read in core/settings.py alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.settings import VARIABLES, Settings, SettingsError, current, use
from warehouse import lake, store

ROOT = Path(__file__).resolve().parents[1]


def test_every_variable_the_readme_documents_is_read_by_the_settings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(NEWSFLOW_[A-Z_]+)`", readme))
    assert documented == set(VARIABLES.values())


def test_the_environment_sets_each_field():
    env = {
        "NEWSFLOW_SOURCES": "/etc/newsflow/sources.yaml",
        "NEWSFLOW_BASE_URL": "http://127.0.0.1:9000",
        "NEWSFLOW_POLITENESS": "retries=0",
        "NEWSFLOW_DB": "/data/w.duckdb",
        "NEWSFLOW_LAKE_DATA": "/mnt/lake/",
        "NEWSFLOW_ARCHIVE": "/mnt/bodies",
        "NEWSFLOW_WORKERS": "0",
        "NEWSFLOW_UNRESPONSIVE_AFTER": "90",
        "NEWSFLOW_ALERT_WEBHOOK": "http://127.0.0.1:9/hook",
        "NEWSFLOW_DEBUG": "1",
    }
    assert Settings.from_env(env) == Settings(
        sources_file=Path("/etc/newsflow/sources.yaml"),
        base_url="http://127.0.0.1:9000",
        politeness="retries=0",
        db=Path("/data/w.duckdb"),
        lake_data="/mnt/lake/",
        archive=Path("/mnt/bodies"),
        workers=0,
        unresponsive_after="90",
        alert_webhook="http://127.0.0.1:9/hook",
        debug=True,
    )
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({}, workers=3).workers == 3  # flags over the environment


def test_the_warehouse_is_a_file_path_or_a_lake():
    as_file = Settings.from_env({"NEWSFLOW_WAREHOUSE": "/w.duckdb", "NEWSFLOW_DB": "/x.duckdb"})
    assert (as_file.db_path, as_file.lake) == (Path("/w.duckdb"), None)
    on_lake = Settings.from_env({"NEWSFLOW_WAREHOUSE": "ducklake:postgres:dbname=n"})
    assert on_lake.lake == "postgres:dbname=n"
    assert on_lake.db_path == Path("data") / "newsflow.duckdb"


def test_a_bad_worker_count_is_named():
    with pytest.raises(SettingsError, match="NEWSFLOW_WORKERS must be a number, not 'many'"):
        Settings.from_env({"NEWSFLOW_WORKERS": "many"})


def test_settings_in_use_win_over_the_environment_and_nest(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSFLOW_DB", str(tmp_path / "env.duckdb"))
    assert store.db_path() == tmp_path / "env.duckdb"
    with use(Settings(db=tmp_path / "a.duckdb")):
        assert store.db_path() == tmp_path / "a.duckdb"
        with use(Settings(warehouse="ducklake:postgres:dbname=n", lake_data=str(tmp_path))):
            assert lake.configured() == lake.Lake("postgres:dbname=n", f"{tmp_path}/")
        assert lake.configured() is None
    assert current() == Settings.from_env()


def test_no_module_but_the_settings_names_a_variable():
    """Code outside core/settings.py takes values from the settings, never the environment."""
    outside = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted(ROOT.glob("*/**/*.py"))
        if path.parts[len(ROOT.parts)] not in ("tests", ".venv") and path.name != "settings.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "NEWSFLOW_" in line
    ]
    assert outside == []
