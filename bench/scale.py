"""Benchmark: one ingest by 1 vs 2 workers, into the DuckDB file vs DuckLake, in one run.

    .venv/bin/python bench/scale.py [--articles 1000] [--pages synthetic|real]

Serves the replicated corpus (bench/corpus.py), starts one Prefect API server and one
throwaway PostgreSQL cluster (tests/pg_cluster.py), then ingests the same corpus four times,
each into a fresh warehouse: the DuckDB file or a DuckLake, by 1 or 2 `newsflow ingest`
processes at once (they share the work through the frontier's leases). A worker is one
process doing its page work in-process (the settings' workers = 0), so 1 worker is one core's worth.

Prints wall time, articles/s and CPU seconds per article (every process of the run), the
ratios 2 workers : 1 and DuckLake : file, and articles a day per worker core; writes them to
bench/results/scale-<date>.json. On a 2-core machine a second worker cannot gain much when
the CPU is the limit: what matters is that it does not collapse and what the overhead is.
Not part of the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from pg_cluster import cluster  # noqa: E402

from bench.corpus import served, sitemap_path, write_sources  # noqa: E402
from core.settings import VARIABLES  # noqa: E402
from flows.serve import LocalStack, free_port  # noqa: E402

CHUNK = 100
SECONDS_A_DAY = 86_400


@dataclass(frozen=True)
class Run:
    """One ingest of the corpus: where to, by how many workers, and what it cost."""

    backend: str
    workers: int
    seconds: float
    cpu_seconds: float
    stored: int

    @property
    def per_second(self) -> float:
        return self.stored / self.seconds


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ingest(backend: str, workers: int, env: dict[str, str], tmp: Path) -> Run:
    """The corpus into a fresh warehouse by `workers` processes at once."""
    cpu, began = _children_cpu(), time.perf_counter()
    processes = []
    for number in range(workers):
        workdir = tmp / f"{backend}-{workers}-{number}"
        workdir.mkdir()
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "flows.cli", "ingest", "--chunk-size", str(CHUNK)],
                cwd=workdir,
                env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
    for process in processes:
        _, err = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"a worker failed:\n{err.decode()[-3000:]}")
    seconds = time.perf_counter() - began
    run = Run(backend, workers, seconds, _children_cpu() - cpu, _stored(env))
    print(
        f"{backend:9} {workers} worker(s)  {run.seconds:7.1f} s  {run.per_second:6.1f} articles/s"
        f"  {run.cpu_seconds / run.stored * 1000:6.1f} ms CPU/article  stored {run.stored}",
        flush=True,
    )
    return run


def _stored(env: dict[str, str]) -> int:
    query = [sys.executable, "-m", "flows.cli", "sql", "SELECT count(*) AS n FROM articles"]
    out = subprocess.run(
        [*query, "--format", "json"],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(json.loads(out)[0]["n"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--pages", choices=("synthetic", "real"), default="synthetic")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="newsflow-scale-") as scratch,
        served(args.pages) as (base, _),
        LocalStack(home=Path(scratch) / "prefect", port=free_port(), deployments=False) as api,
    ):
        tmp = Path(scratch)
        listing = sitemap_path(0, args.articles)
        common = {
            VARIABLES["sources_file"]: str(write_sources(tmp / "sources.yaml", base, listing)),
            VARIABLES["workers"]: "0",
            "PREFECT_API_URL": api.api_url,
        }
        runs = []
        for workers in (1, 2):
            on_file = {**common, VARIABLES["db"]: str(tmp / f"{workers}.duckdb")}
            runs.append(ingest("file", workers, on_file, tmp))
            with cluster() as catalog:  # a fresh lake: its own PostgreSQL cluster
                lake = {
                    VARIABLES["warehouse"]: f"ducklake:{catalog}",
                    VARIABLES["lake_data"]: str(tmp / f"lake-{workers}"),
                }
                runs.append(ingest("ducklake", workers, {**common, **lake}, tmp))
    result = report(runs, args)
    out = ROOT / "bench" / "results" / f"scale-{datetime.now(UTC):%Y-%m-%d}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out.relative_to(ROOT)}")
    return 0


def report(runs: list[Run], args: argparse.Namespace) -> dict[str, object]:
    """Ratios measured in this run, and the capacity figures the README quotes."""
    by = {(r.backend, r.workers): r for r in runs}
    ratios = {
        "file 2 workers : 1": by["file", 2].per_second / by["file", 1].per_second,
        "ducklake 2 workers : 1": by["ducklake", 2].per_second / by["ducklake", 1].per_second,
        "ducklake : file, 1 worker": by["ducklake", 1].per_second / by["file", 1].per_second,
        "ducklake : file, 2 workers": by["ducklake", 2].per_second / by["file", 2].per_second,
    }
    for name, ratio in ratios.items():
        print(f"{name:28} {ratio:5.2f}x")
    per_core = {
        backend: SECONDS_A_DAY * by[backend, 1].stored / by[backend, 1].cpu_seconds
        for backend in ("file", "ducklake")
    }
    for backend, articles in per_core.items():
        print(f"articles a day per worker core ({backend}, fetch+extract+load): {articles:,.0f}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
    return {
        "articles": args.articles,
        "pages": args.pages,
        "runs": [{**asdict(r), "per_second": r.per_second} for r in runs],
        "ratios": ratios,
        "articles_a_day_per_core": per_core,
        "cores": os.cpu_count(),
        "load_average_end": os.getloadavg()[0],
    }


if __name__ == "__main__":
    raise SystemExit(main())
