"""newsflow ingest against trafilatura's CLI and a minimal script, on the same corpus, in one run.

    .venv/bin/python bench/ingest.py [--sizes 1000 5000] [--full] [--added 100] [--baselines-at N]

The corpus (bench/corpus.py): copies of the article-extraction benchmark's pages, each made
distinct, served from 127.0.0.1 by a ThreadingHTTPServer in its own process with one sitemap.
At each size, side by side:
- newsflow: `newsflow ingest` as a subprocess (the user's path), against a Prefect server started
  once for the whole benchmark (PREFECT_API_URL, as with `newsflow serve`), into a fresh
  warehouse; politeness delay 0 and 16 requests at once (the settings' politeness). The flow body is
  the run's own record (`runs`: Prefect's start of the flow run to its end);
- trafilatura's CLI, `trafilatura -i urls.txt --output-format json --parallel 16` with
  SLEEP_TIME 0 and SSRF_PROTECTION off (its defaults wait 5 s per request to a host and refuse
  127.0.0.1); with one host it downloads one URL at a time;
- bench/minimal_ingest.py: async httpx, trafilatura.extract in a process pool, one insert.
Then on the largest newsflow warehouse a no-op rerun, and 100 new articles listed over the one
of 5k (the largest without one) against the same 100 into an empty (created, migrated)
warehouse. --baselines-at limits the baselines to some sizes (a 10k run takes long enough).
Peak RSS is the whole process tree's (workers included, the corpus and Prefect servers not).
Prints a table and ratios against the targets and writes them to
bench/results/ingest-<date>.json. Not part of the suite.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import served, sitemap_path, write_sources  # noqa: E402
from bench.proctree import Measured, Peaks, run_measured  # noqa: E402
from core.settings import VARIABLES  # noqa: E402
from flows.serve import LocalStack, free_port  # noqa: E402
from warehouse import store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PARALLEL = 16  # requests in flight to the one host, for every tool


@dataclass(frozen=True)
class Row:
    """One measured command: what ran, over how many URLs, and what it cost and produced."""

    tool: str
    case: str
    urls: int
    wall_s: float
    peak_rss_mb: float
    flow_body_s: float | None
    articles: int
    processes: list[dict[str, object]] = field(default_factory=list)  # each one's peaks, MB


class Bench:
    """The temporary files, the corpus server and the Prefect API shared by every run."""

    def __init__(self, workdir: Path, base: str, api_url: str, prefect_home: Path) -> None:
        self.workdir = workdir
        self.base = base
        self.env = {
            **os.environ,
            "PREFECT_API_URL": api_url,
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            VARIABLES["politeness"]: f"delay_seconds=0,max_per_host={PARALLEL}",
        }

    def newsflow(self, case: str, db: Path, start: int, stop: int) -> Row:
        """`newsflow ingest` over the sitemap of copies start..stop-1 into the warehouse db."""
        sources = write_sources(
            self.workdir / f"sources-{case}.yaml", self.base, sitemap_path(start, stop)
        )
        env = {**self.env, VARIABLES["sources_file"]: str(sources), VARIABLES["db"]: str(db)}
        measured = run_measured([str(BIN / "newsflow"), "ingest"], env)
        _check(measured, f"newsflow {case}")
        with duckdb.connect(str(db), read_only=True) as conn:
            body = conn.execute(
                "SELECT epoch(ended_at - started_at) FROM runs ORDER BY ended_at DESC LIMIT 1"
            ).fetchone()
            stored = conn.execute("SELECT count(*) FROM articles").fetchone()
            failed = conn.execute(
                "SELECT outcome, any_value(error), count(*) FROM fetch_log WHERE kind = 'article' "
                "AND outcome NOT IN ('stored', 'duplicate', 'revised', 'not_modified') GROUP BY 1"
            ).fetchall()
        for outcome, error, count in failed:  # why fewer were stored, if they were
            print(f"    {count} pages {outcome}, e.g. {error}", flush=True)
        return _row("newsflow", case, stop - start, measured, body[0] if body else None, stored[0])

    def trafilatura_cli(self, case: str, count: int) -> Row:
        """trafilatura's own batch mode over the same URLs, one JSON line per extraction.

        Not `-o DIR`: its files are named by a bag-of-words hash, so copies overwrite each other.
        """
        command = [str(BIN / "trafilatura"), "-i", str(self._urls(count)), "--output-format"]
        command += ["json", "--parallel", str(PARALLEL), "--config-file", str(self._config())]
        measured = run_measured(command, self.env)
        _check(measured, f"trafilatura {case}")
        extracted = sum(line.startswith("{") for line in measured.output.splitlines())
        return _row("trafilatura CLI", case, count, measured, None, extracted)

    def minimal(self, case: str, count: int) -> Row:
        """The 40-line httpx + trafilatura + duckdb script."""
        db = self.workdir / f"minimal-{case}.duckdb"
        script = ROOT / "bench" / "minimal_ingest.py"
        command = [sys.executable, str(script), str(self._urls(count)), str(db)]
        measured = run_measured([*command, "--concurrency", str(PARALLEL)], self.env)
        _check(measured, f"minimal {case}")
        return _row("minimal script", case, count, measured, None, int(measured.output.split()[-1]))

    def _urls(self, count: int) -> Path:
        path = self.workdir / f"urls-{count}.txt"
        path.write_text("".join(f"{self.base}/a/{n}.html\n" for n in range(count)))
        return path

    def _config(self) -> Path:
        """trafilatura's settings with no wait between requests and loopback allowed."""
        config = configparser.ConfigParser()
        config.read(Path(trafilatura.__file__).parent / "settings.cfg")
        config["DEFAULT"]["SLEEP_TIME"] = "0"
        config["DEFAULT"]["SSRF_PROTECTION"] = "off"
        path = self.workdir / "trafilatura.cfg"
        with path.open("w") as file:
            config.write(file)
        return path


def _row(
    tool: str, case: str, urls: int, measured: Measured, body: float | None, articles: int
) -> Row:
    rss = round(measured.peak_rss / 2**20, 1)
    processes = [
        {"pid": pid, "name": p.name, **{k: round(v / 2**20, 1) for k, v in _sizes(p).items()}}
        for pid, p in measured.processes.items()
        if p.rss >= 2**20 * 5 and tool == "newsflow"
    ]
    row = Row(
        tool, case, urls, round(measured.wall, 2), rss, body and round(body, 2), articles, processes
    )
    print(_line(row), flush=True)
    for process in processes:
        print(f"    {process['name'][:40]:40}", *(f"{k} {process[k]:7.1f}" for k in _SIZES))
    return row


_SIZES = ("rss", "pss", "uss")


def _sizes(peaks: Peaks) -> dict[str, int]:
    """A process's peaks by name (MB once rounded): RSS, the issue's, then PSS and USS."""
    return {name: getattr(peaks, name) for name in _SIZES}


def _check(measured: Measured, what: str) -> None:
    """A benchmark of a failed run is no benchmark: stop with its output."""
    if measured.returncode != 0:
        raise SystemExit(f"{what} failed ({measured.returncode}):\n{measured.output[-3000:]}")


def run(sizes: list[int], added: int, baselines_at: list[int]) -> list[Row]:
    """Every measurement, tools interleaved per size so that they share the machine's load.

    The baselines run at the sizes in baselines_at only; the no-op rerun is over the largest
    warehouse, the added articles over the one of 5k (the target's) where there is one.
    """
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp,
        served("real") as (base, _),
        LocalStack(home=Path(tmp) / "prefect", port=free_port(), deployments=False) as stack,
    ):
        bench = Bench(Path(tmp), base, stack.api_url, Path(tmp) / "prefect")
        for size in sizes:
            case = f"{size}"
            rows.append(bench.newsflow(case, Path(tmp) / f"newsflow-{size}.duckdb", 0, size))
            if size in baselines_at:
                rows.append(bench.trafilatura_cli(case, size))
                rows.append(bench.minimal(case, size))
        largest, over = max(sizes), _over(sizes)
        db = Path(tmp) / f"newsflow-{largest}.duckdb"
        rows.append(bench.newsflow(f"no-op rerun at {largest}", db, 0, largest))
        db = Path(tmp) / f"newsflow-{over}.duckdb"
        rows.append(bench.newsflow(f"{added} new over {over}", db, 0, over + added))
        empty = Path(tmp) / "empty.duckdb"
        with store.connect(empty):  # empty, not new: schema creation is no part of the figure
            pass
        rows.append(bench.newsflow(f"{added} new into empty", empty, over, over + added))
    return rows


def _over(sizes: list[int]) -> int:
    return 5000 if 5000 in sizes else max(sizes)


def ratios(rows: list[Row], sizes: list[int], added: int) -> dict[str, float | None]:
    """Throughput and memory ratios, each named after the target it is read against."""
    by = {(r.tool, r.case): r for r in rows}
    largest, smallest, base = max(sizes), min(sizes), _over(sizes)
    out: dict[str, float | None] = {}
    for size in sizes:
        newsflow = by["newsflow", f"{size}"]
        for tool in ("trafilatura CLI", "minimal script"):
            if (tool, f"{size}") in by:
                out[f"newsflow / {tool} throughput at {size}"] = round(
                    by[tool, f"{size}"].wall_s / newsflow.wall_s, 2
                )
    for tool in ("newsflow", "trafilatura CLI", "minimal script"):
        if (tool, f"{largest}") in by and (tool, f"{smallest}") in by:
            out[f"{tool} peak RSS {largest} / {smallest}"] = round(
                by[tool, f"{largest}"].peak_rss_mb / by[tool, f"{smallest}"].peak_rss_mb, 2
            )
    over, empty = (
        by["newsflow", f"{added} new over {base}"],
        by["newsflow", f"{added} new into empty"],
    )
    if over.flow_body_s and empty.flow_body_s:
        out[f"{added} new over {base} / into empty (flow body)"] = round(
            over.flow_body_s / empty.flow_body_s, 2
        )
    out[f"{added} new over {base} / into empty (wall)"] = round(over.wall_s / empty.wall_s, 2)
    out[f"no-op rerun at {largest}: flow body s"] = by[
        "newsflow", f"no-op rerun at {largest}"
    ].flow_body_s
    return out


TARGETS = {
    "throughput": "newsflow >= 1.0x trafilatura CLI at 5k",
    "rss": "newsflow peak RSS at 10k <= 1.2x at 1k",
    "no-op": "no-op daily run at 10k <= 2 s of flow body",
    "added": "100 new over 5k <= 1.2x the same 100 into an empty warehouse",
}


def _line(row: Row) -> str:
    body = f"{row.flow_body_s:8.2f}" if row.flow_body_s is not None else "       -"
    return (
        f"{row.tool:16} {row.case:24} {row.urls:8} {row.wall_s:8.2f} {body} "
        f"{row.peak_rss_mb:8.1f} {row.articles:8}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--full", action="store_true", help="add 10,000 URLs")
    parser.add_argument("--added", type=int, default=100, help="new articles over 5k")
    parser.add_argument(
        "--baselines-at", type=int, nargs="*", help="sizes to run the baselines at (default all)"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers it started too
    sizes = sorted({*args.sizes, *([10_000] if args.full else [])})
    load = os.getloadavg()
    header = ("urls", "wall s", "body s", "RSS MB", "stored")
    print(f"{'tool':16} {'case':24}", *(f"{h:>8}" for h in header))
    started = time.perf_counter()
    at = sizes if args.baselines_at is None else args.baselines_at
    rows = run(sizes, args.added, at)
    figures = ratios(rows, sizes, args.added)
    print()
    for name, value in figures.items():
        print(f"{name:55} {value}")
    print("\ntargets:", *TARGETS.values(), sep="\n  ")
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_before": load, "load_after": os.getloadavg()},
        "seconds": round(time.perf_counter() - started, 1),
        "rows": [asdict(r) for r in rows],
        "ratios": figures,
        "targets": TARGETS,
    }
    out = ROOT / "bench" / "results" / f"ingest-{datetime.now(UTC):%Y-%m-%d}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
