"""bench/translate.py still runs (tiny models, a few paragraphs; figures are not checked here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "translate.py"


def test_benchmark_runs_both_paths_and_prints_the_ratio(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGOS_", "XDG_"))}
    done = subprocess.run(
        [sys.executable, str(BENCH), "--tiny", "--paragraphs", "6", "--ct2-paragraphs", "6"],
        capture_output=True,
        text=True,
        env=env | {"HOME": str(tmp_path)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "identical to argos for 6/6" in done.stdout
    for line in ("argostranslate translate() per text:", "newsflow batched", "speed-up:"):
        assert line in done.stdout
    for engine in ("marian", "nllb"):  # each CTranslate2 engine, both ways, in the same run
        assert f"{engine}: ctranslate2:" in done.stdout
        assert "tokens a sentence; identical per text for 6/6" in done.stdout
        for line in (f"{engine} per text:", f"{engine} batched:", f"{engine} speed-up:"):
            assert line in done.stdout
    assert not (tmp_path / ".local").exists()  # the bench kept to its temporary Argos home
