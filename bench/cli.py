"""Wall time to the first line of output of `newsflow` commands, as a user types them.

    .venv/bin/python bench/cli.py [--repeat 3] [--with-serve] [--baseline TREE]

On a demo warehouse (the bundled fixture site, served here on 127.0.0.1, ingested once as
`newsflow demo` does, into a temporary folder): `ingest --source nosuch` (a typo),
`sql "select 1"`, and a no-op `ingest --source caucasian-knot` (nothing new by then). Each
command runs as a subprocess in a fresh environment with no PREFECT_API_URL; the clock stops
at its first byte on stdout or stderr, and again when it exits. With --with-serve the same
commands run again while a `newsflow serve` (started and stopped here) answers on port 4200.
With --baseline, each command also runs from another source tree (e.g. `git archive main |
tar -x -C /tmp/main`), alternating with this one run by run, and the ratios of the medians are
printed. Prints the median of --repeat runs per command and writes
bench/results/cli-<time>.json; the interpreter's own start (`python -c "print()"`) is measured
in the same run as the floor. Not part of the test suite; note the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.settings import VARIABLES  # noqa: E402
from fixture_site import FixtureSite  # noqa: E402
from flows.cli import DEMO_POLITENESS  # noqa: E402

NEWSFLOW = str(Path(sys.executable).with_name("newsflow"))
COMMANDS = {
    "baseline: python -c print()": [sys.executable, "-c", "print()"],
    "ingest --source nosuch": [NEWSFLOW, "ingest", "--source", "nosuch"],
    'sql "select 1"': [NEWSFLOW, "sql", "select 1"],
    "no-op ingest (demo)": [NEWSFLOW, "ingest", "--source", "caucasian-knot"],
}


@dataclass(frozen=True)
class Timing:
    first_line: float  # seconds from start to the first byte of output
    done: float  # seconds from start to exit
    status: int
    first: str  # the first line


def timed(args: list[str], env: dict[str, str], cwd: Path) -> Timing:
    """One run of a command: when its first byte came, when it ended, and its first line."""
    started = time.perf_counter()
    process = subprocess.Popen(
        args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    head = process.stdout.read(1)
    first = time.perf_counter() - started
    rest, _ = process.communicate()
    line = (head + rest).decode(errors="replace").split("\n", 1)[0]
    return Timing(first, time.perf_counter() - started, process.returncode, line)


def measure(
    env: dict[str, str], cwd: Path, repeat: int, baseline: Path | None
) -> dict[str, dict[str, object]]:
    """Each command `repeat` times (alternating with the baseline tree's run, if any)."""
    figures: dict[str, dict[str, object]] = {}
    trees = {"this": env} | ({"baseline": env | {"PYTHONPATH": str(baseline)}} if baseline else {})
    for name, args in COMMANDS.items():
        runs: dict[str, list[Timing]] = {tree: [] for tree in trees}
        for _ in range(repeat):
            for tree, tree_env in trees.items():
                runs[tree].append(timed(args, tree_env, cwd))
        medians = {
            tree: (
                statistics.median(t.first_line for t in done),
                statistics.median(t.done for t in done),
            )
            for tree, done in runs.items()
        }
        first, done = medians["this"]
        last = runs["this"][-1]
        row: dict[str, object] = {"first_line_s": round(first, 3), "done_s": round(done, 3)}
        row |= {"exit": last.status, "first": last.first[:120]}
        line = f"  {name:<28}first line {first:>5.2f} s, done {done:>5.2f} s"
        if baseline:
            base_first, base_done = medians["baseline"]
            row |= {"baseline_first_line_s": round(base_first, 3)}
            row |= {"baseline_done_s": round(base_done, 3)}
            row |= {"first_line_ratio": round(first / base_first, 3)}
            row |= {"done_ratio": round(done / base_done, 3)}
            line += f"  | baseline {base_first:>5.2f} s, {base_done:>5.2f} s"
            line += f"  | ratios {first / base_first:.2f}, {done / base_done:.2f}"
        print(f"{line}  exit {last.status}: {last.first[:50]!r}", flush=True)
        figures[name] = row
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (median)")
    parser.add_argument("--with-serve", action="store_true", help="also with `newsflow serve`")
    parser.add_argument("--baseline", type=Path, help="another source tree to compare with")
    options = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder, FixtureSite(port=0) as site:
        cwd = Path(folder)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("PREFECT_") and key not in VARIABLES.values()
        }
        env |= {"PREFECT_HOME": str(cwd / "prefect"), "PYTHONPATH": str(ROOT)}
        env |= {VARIABLES["db"]: str(cwd / "demo.duckdb"), VARIABLES["base_url"]: site.base_url}
        env |= {VARIABLES["politeness"]: DEMO_POLITENESS}
        demo = [NEWSFLOW, "ingest", "--failure-threshold", "1"]
        subprocess.run(demo, env=env, cwd=cwd, capture_output=True, check=False)
        results: dict[str, object] = {"load_average": load, "baseline": str(options.baseline)}
        print("no Prefect server:")
        results["no_server"] = measure(env, cwd, options.repeat, options.baseline)
        if options.with_serve:
            serve = subprocess.Popen(
                [NEWSFLOW, "serve", "--home", str(cwd / "serve")],
                env=env,
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                assert serve.stdout is not None
                for line in serve.stdout:  # serve says when the UI is up
                    if line.startswith("newsflow is served"):
                        break
                if serve.poll() is not None:
                    raise SystemExit(f"newsflow serve did not start: {line.strip()}")
                print("with `newsflow serve` running:")
                results["with_serve"] = measure(env, cwd, options.repeat, options.baseline)
            finally:
                serve.terminate()
                serve.wait(timeout=60)
    out = ROOT / "bench" / "results" / f"cli-{datetime.now(UTC):%Y-%m-%dT%H%M}.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"load average at start {load}; written to {out}")


if __name__ == "__main__":
    main()
