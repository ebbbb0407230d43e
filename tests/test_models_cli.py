"""`newsflow models list|install` on tiny real Argos packages; no test reaches the network.

conftest points ARGOS_PACKAGE_INDEX at a closed local port; the one test that installs through
an index serves it from a local HTTP server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from argos_package import build_argos_package, build_corrupt_package, served_index

from flows.cli import main
from processing.models import ModelInfo, installed_models


def test_list_shows_name_engine_version_size_and_languages(ru_model: ModelInfo, capsys) -> None:
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    header = ["name", "engine", "version", "size", "languages", "in-use", "path"]
    assert out[0].split() == header
    [row] = [line.split() for line in out[1:] if line.startswith("ru-en")]
    size_mb = sum(p.stat().st_size for p in ru_model.path.rglob("*") if p.is_file()) / 1e6
    assert row == ["ru-en", "argos", "0.1", f"{size_mb:.1f}", "MB", "ru", "ru", str(ru_model.path)]


def test_install_from_file_then_listed(ru_model: ModelInfo, tmp_path: Path, capsys) -> None:
    path = build_argos_package(tmp_path, "ka")
    assert main(["models", "install", "--file", str(path)]) == 0
    assert "installed ka-en 0.1" in capsys.readouterr().out
    assert installed_models()["ka"].version == "0.1"
    assert main(["models", "list"]) == 0
    assert any(line.startswith("ka-en") for line in capsys.readouterr().out.splitlines())


def test_corrupt_file_is_a_clear_error(ru_model: ModelInfo, tmp_path: Path, capsys) -> None:
    path = build_corrupt_package(tmp_path)
    assert main(["models", "install", "--file", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("newsflow: error:") and str(path) in err and "not an Argos model" in err
    truncated = tmp_path / "truncated.argosmodel"
    truncated.write_bytes(build_argos_package(tmp_path, "ky").read_bytes()[:-4000])
    assert main(["models", "install", "--file", str(truncated)]) == 1
    assert str(truncated) in capsys.readouterr().err
    assert "ky" not in installed_models()


def test_unreachable_index_fails_at_once_naming_the_file_alternative(capsys) -> None:
    # conftest: ARGOS_PACKAGE_INDEX is http://127.0.0.1:9/, a closed port
    assert main(["models", "install", "ru", "zh"]) == 1
    err = capsys.readouterr().err
    assert "cannot read the Argos package index at http://127.0.0.1:9/index.json" in err
    assert "newsflow models install --file PATH.argosmodel" in err


def test_install_by_language_through_a_package_index(
    ru_model: ModelInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from argostranslate import settings

    served = tmp_path / "index"
    served.mkdir()
    build_argos_package(served, "tg", version="1.2")
    packages = [
        {
            "type": "translate",
            "from_code": "tg",
            "to_code": "en",
            "package_version": "1.2",
            "links": ["missing.argosmodel", "translate-tg_en-1_2.argosmodel"],
        },
        {"type": "translate", "from_code": "en", "to_code": "tg", "links": []},
    ]
    with served_index(served, packages) as base:
        monkeypatch.setattr(settings, "remote_package_index", base + "index.json")
        assert main(["models", "install", "tg"]) == 0
        assert "installed tg-en 1.2" in capsys.readouterr().out
        assert main(["models", "install", "tg", "xx"]) == 1
        assert "no model to English for: xx" in capsys.readouterr().err
    assert installed_models()["tg"].version == "1.2"


def test_models_list_does_not_load_the_translation_stack(ru_model: ModelInfo) -> None:
    """argostranslate.translate costs ~4 s to import: listing models must not pay it."""
    code = (
        "import sys; from flows.cli import main; main(['models', 'list']); "
        "print('argostranslate.translate' in sys.modules, 'prefect' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True
    )
    assert "ru-en" in done.stdout
    assert done.stdout.splitlines()[-1] == "False False"
