"""The frontier at scale: due-or-known over 1M rows, and a no-op rerun with aliases, in one run.

    .venv/bin/python bench/frontier.py [--rows 1000000] [--listed 100000] [--articles 5000]

1. Due-or-known: a listing of `listed` URLs (nine in ten already stored, one in ten new) goes
   through warehouse.frontier.record_listed, then claim takes the first chunk of due URLs, on
   a temp DuckDB file whose frontier holds `rows` stored URLs (synthetic, written through
   write_states); and the same listing against a frontier ten times smaller, as the baseline.
   Then a rerun of the same listing, when nothing is new: record_listed and an empty claim.
   Target (issue 18): well under a second at 100k against 1M.
2. Aliases: the pipeline core (pipeline.ingest.ingest_source, no Prefect) reads a sitemap of
   `articles` URLs of small synthetic pages from the corpus server, once with a tenth of them
   aliases (redirects to, or copies naming as canonical, articles listed too) and once without,
   each into its own warehouse; then both are rerun, alternately, and each rerun is timed. The
   reruns should cost the same within noise and request no page.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import served, sitemap_path, write_sources  # noqa: E402
from connectors.config import load_sources  # noqa: E402
from connectors.http import HttpClient  # noqa: E402
from connectors.records import Link  # noqa: E402
from pipeline.ingest import CHUNK_SIZE, IngestRun, ingest_source  # noqa: E402
from pipeline.pages import PageProcessor  # noqa: E402
from warehouse import frontier, store  # noqa: E402
from warehouse.interface import DuckDBWarehouse  # noqa: E402
from warehouse.loads import RunKey  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "bench"
T = TypeVar("T")


def timed(step: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = step()
    return time.perf_counter() - started, result


def url(n: int) -> str:
    return f"https://news.example.org/{n // 1000}/story-{n}.html"


def stored_frontier(path: Path, rows: int, now: datetime, batch: int = 200_000) -> None:
    """A frontier of `rows` stored URLs, written as chunk commits write them."""
    with store.connect(path) as conn:
        for start in range(0, rows, batch):
            states = [
                {
                    "url": url(n),
                    "source_id": SOURCE,
                    "state": "stored",
                    "resolved_url": url(n),
                    "via": None,
                    "listed_published_at": None,
                    "first_seen": now,
                    "last_fetched": now,
                    "attempts": 0,
                    "last_status": 200,
                    "last_error": None,
                    "next_due": None,
                }
                for n in range(start, min(start + batch, rows))
            ]
            frontier.write_states(conn, states)


def due_or_known(path: Path, listed: int, known: int, now: datetime) -> dict[str, float]:
    """Seconds to record a listing (90% known, 10% new) and claim a chunk; then the rerun."""
    new_from = known  # the URLs after the frontier's are new
    links = [Link(SOURCE, url(n)) for n in range(new_from - listed * 9 // 10, new_from)]
    links += [Link(SOURCE, url(n)) for n in range(new_from, new_from + listed // 10)]
    owner = frontier.lease_owner("bench")
    figures = {}
    with store.connect(path) as conn:
        figures["record_listed"], new = timed(lambda: frontier.record_listed(conn, links, now))
        assert new == listed // 10, f"{new} new URLs, expected {listed // 10}"
        figures["claim a chunk"], chunk = timed(
            lambda: frontier.claim(conn, SOURCE, owner, CHUNK_SIZE, now, now)
        )
        assert len(chunk) == CHUNK_SIZE
        # the rest of the new URLs are taken as done, so that the rerun finds nothing due
        conn.execute(
            "UPDATE frontier SET state = 'stored', next_due = NULL, leased_by = NULL "
            "WHERE state = 'discovered'"
        )
        later = now + timedelta(days=1)
        figures["rerun: record_listed"], new = timed(
            lambda: frontier.record_listed(conn, links, later)
        )
        figures["rerun: claim (none due)"], chunk = timed(
            lambda: frontier.claim(conn, SOURCE, owner, CHUNK_SIZE, later, later)
        )
        assert new == 0 and chunk == []
    figures["total"] = figures["record_listed"] + figures["claim a chunk"]
    figures["rerun total"] = figures["rerun: record_listed"] + figures["rerun: claim (none due)"]
    return figures


def scale(workdir: Path, rows: int, listed: int) -> dict[str, dict[str, float]]:
    """The due-or-known step against `rows` and against rows / 10 (the baseline)."""
    now = datetime.now(UTC)
    out = {}
    for size in (rows // 10, rows):
        path = workdir / f"frontier-{size}.duckdb"
        seconds, _ = timed(lambda: stored_frontier(path, size, now))  # noqa: B023 (called now)
        print(f"  frontier of {size:,} stored rows written in {seconds:.1f} s", flush=True)
        out[f"{size}"] = due_or_known(path, listed, size, now)
    return out


async def ingest_once(sources: Path, db: Path) -> tuple[float, int]:
    """One daily run of the core over the source; seconds and pages requested."""
    source = load_sources(sources)[0]
    warehouse = DuckDBWarehouse(db)
    warehouse.register_sources([source])
    before = _article_attempts(db)
    params = IngestRun(RunKey(str(uuid.uuid4())))
    started = time.perf_counter()
    with PageProcessor() as pages:
        async with HttpClient() as client:
            await ingest_source(source, params, warehouse, client, pages)
    return time.perf_counter() - started, _article_attempts(db) - before


def _article_attempts(db: Path) -> int:
    if not db.exists():
        return 0
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute("SELECT count(*) FROM fetch_log WHERE kind = 'article'").fetchone()[0]


@dataclass
class AliasCase:
    """A listing's first run, its timed no-op reruns, and the pages those reruns requested."""

    first_run_s: float
    reruns_s: list[float] = field(default_factory=list)
    rerun_requests: int = 0
    frontier: dict[str, int] = field(default_factory=dict)

    @property
    def median_s(self) -> float:
        return statistics.median(self.reruns_s)


def aliases(workdir: Path, articles: int, reruns: int) -> dict[str, AliasCase]:
    """First run and timed no-op reruns of a listing with 10% aliases and of one without."""
    counts = {"10% aliases": articles // 10, "no aliases": 0}
    cases: dict[str, AliasCase] = {}
    setups: dict[str, tuple[Path, Path]] = {}
    with served("synthetic") as (base, _):
        for name, count in counts.items():
            sources = workdir / f"sources-{count}.yaml"
            write_sources(sources, base, sitemap_path(0, articles, count))
            setups[name] = (sources, workdir / f"aliases-{count}.duckdb")
            seconds, requested = asyncio.run(ingest_once(*setups[name]))
            print(f"  {name}: first run {seconds:.1f} s, {requested} pages", flush=True)
            cases[name] = AliasCase(round(seconds, 2))
        for _ in range(reruns):  # alternately, so that both see the same load
            for name, setup in setups.items():
                seconds, requested = asyncio.run(ingest_once(*setup))
                cases[name].reruns_s.append(round(seconds, 2))
                cases[name].rerun_requests += requested
    for name, (_, db) in setups.items():
        with duckdb.connect(str(db), read_only=True) as conn:
            states = conn.execute("SELECT state, count(*) FROM frontier GROUP BY ALL").fetchall()
        cases[name].frontier = dict(states)
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--listed", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--reruns", type=int, default=3)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers it started too
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-frontier-") as tmp:
        print(f"due-or-known: a listing of {args.listed:,} URLs (10% new)", flush=True)
        scaled = scale(Path(tmp), args.rows, args.listed)
        small, big = scaled[f"{args.rows // 10}"], scaled[f"{args.rows}"]
        print(f"\n{'step':28} {args.rows // 10:>12,} {args.rows:>12,}  ratio")
        for step in big:
            print(f"{step:28} {small[step]:12.3f} {big[step]:12.3f}  {big[step] / small[step]:.2f}")
        print(f"\nno-op reruns of a {args.articles:,}-URL listing (core, no Prefect)", flush=True)
        alias = aliases(Path(tmp), args.articles, args.reruns)
    for name, case in alias.items():
        print(
            f"{name:12} reruns {case.reruns_s} s, median {case.median_s:.2f} s, pages requested "
            f"{case.rerun_requests}; frontier {case.frontier}"
        )
    ratio = round(alias["10% aliases"].median_s / alias["no aliases"].median_s, 2)
    print(f"ratio with / without aliases: {ratio}")
    out = ROOT / "bench" / "results" / f"frontier-{datetime.now(UTC):%Y-%m-%d}.json"
    out.parent.mkdir(exist_ok=True)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_before": load, "load_after": os.getloadavg()},
        "due_or_known_s": scaled,
        "aliases": {name: {**asdict(c), "median_s": c.median_s} for name, c in alias.items()},
        "ratio_aliases_over_none": ratio,
    }
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
