"""`newsflow demo`: the bundled sites ingested, then their translation shown, or explained.

Each test runs the real demo (fixture site on 127.0.0.1, ingest flow on a Prefect API server,
a DuckDB file) with its own empty Argos package folder. Offline, the index is 127.0.0.1:9 as
everywhere in the tests; the install path is served a local index of tiny test packages.
"""

import functools
import json
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from argos_package import build_argos_package
from conftest import FAST_POLITENESS

from flows.cli import DEMO_LANGUAGES, SIDE_BY_SIDE_SQL, main
from processing.models import forget_loaded_models, installed_models


@pytest.fixture
def demo(prefect_api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh warehouse and an empty model folder; returns the warehouse file."""
    from argostranslate import settings

    packages = tmp_path / "packages"
    packages.mkdir()
    monkeypatch.setattr(settings, "package_data_dir", packages)
    monkeypatch.setattr(settings, "package_dirs", [packages])
    db = tmp_path / "newsflow.duckdb"
    monkeypatch.setenv("NEWSFLOW_DB", str(db))
    monkeypatch.setenv("NEWSFLOW_POLITENESS", FAST_POLITENESS)
    monkeypatch.setenv("NEWSFLOW_BASE_URL", "")  # the demo sets it; restored afterwards
    forget_loaded_models()
    yield db
    forget_loaded_models()


def _by_status(db: Path) -> dict[tuple[str, str], int]:
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.sql(
            "select language, translation_status, count(*) from articles group by all"
        ).fetchall()
    return {(lang, status): n for lang, status, n in rows}


def test_the_demo_explains_the_missing_models_offline_then_installs_them_and_translates(
    demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """A newcomer's two runs: first offline (the index is 127.0.0.1:9), then with an index.

    One test, because Prefect's log handlers keep the first captured stdout of a session.
    """
    port = _free_port()  # both runs at one address, as a user's `newsflow demo` twice
    assert main(["demo", "--port", port]) == 0
    out = capsys.readouterr().out
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

    from argostranslate import settings

    served = tmp_path / "index"
    served.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(served))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}/"
        index = [
            {
                "type": "translate",
                "from_code": code,
                "to_code": "en",
                "package_version": "0.1",
                "links": [base + build_argos_package(served, code).name],
            }
            for code in DEMO_LANGUAGES
        ]
        (served / "index.json").write_text(json.dumps(index))
        monkeypatch.setattr(settings, "remote_package_index", base + "index.json")
        assert main(["demo", "--port", port]) == 0
        server.shutdown()
    out = capsys.readouterr().out
    assert set(installed_models()) == set(DEMO_LANGUAGES)
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


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass
