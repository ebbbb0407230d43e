"""The main process's share of a commit: the chunk's load and the hooks after it, by CPU and RSS.

    .venv/bin/python bench/hooks.py [--sizes 1000 5000] [--chunk 200] [--tree DIR ...]

What `newsflow ingest` does in its main process once a chunk's pages are processed, without the
fetching and the page workers: the ingest corpus's copies (bench/corpus.py: copy n is base page
n % 178 with "Copy n." in its title and first paragraph) go through `translate_results` and
`Warehouse.commit_chunk` chunk by chunk into a fresh warehouse, in one held connection as a
stream commits them. Each copy's article is its base page's, processed once by the page path
(`within_budget`) and made distinct as the corpus makes it, with its body packed as ingest packs
it. Each step's CPU time (process time: DuckDB's threads included) is summed: the load
(loads.commit_chunk) and the hooks (clusters, search index, stories), and the first and last
five chunks' hook time is printed to show whether a chunk's cost grows with the warehouse.
Each size runs in a fresh process; its peak RSS (VmHWM) is printed beside the RSS it had before
the first chunk (imports and the corpus loaded). --tree runs another checkout's code with this
harness (for a before/after in one run; trees alternate per size). Not part of the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASE = 178  # bench/corpus.py's real pages
STEPS = [  # (module, function, label): each timed where the warehouse calls it from
    ("warehouse.loads", "commit_chunk", "load (loads.commit_chunk)"),
    ("warehouse.clusters", "assign_clusters", "clusters"),
    ("warehouse.interface", "refresh_index", "search index"),
    ("warehouse.interface", "refresh_stories", "stories"),
]
HOOKS = ("clusters", "search index", "stories")
_PARTS: list[Any] = []  # the corpus's base pages, read once


def _status(field: str) -> int:
    """A /proc/self/status figure in MB (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return 0


def benchmark() -> Path:
    """The article-extraction benchmark's pages: the shared folder beside the checkout's, or
    above it (a worktree's)."""
    for parent in ROOT.parents:
        found = parent / "shared/benchmarks/article-extraction-benchmark"
        if found.is_dir():
            return found
    raise SystemExit("no shared/benchmarks/article-extraction-benchmark above this checkout")


def base_articles(cache: Path) -> list[Any]:
    """The 178 base pages through the page path once (cached: the same input for every tree)."""
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    from bench.corpus import page, real_pages
    from bench.pages import FETCHED, NOW, SERVED, _source, _url
    from connectors.decoding import decode_body
    from pipeline.pages import within_budget

    source, parts = _source(), real_pages(benchmark())
    articles = []
    for n in range(BASE):
        html = decode_body(page(parts, n), SERVED)
        done = within_budget(source, (_url(n), html, FETCHED, NOW, None, None, None, None))
        articles.append(done.article)
    cache.write_bytes(pickle.dumps(articles))
    return articles


def copies(articles: list[Any], start: int, stop: int) -> list[tuple[Any, str]]:
    """Copies start..stop-1 of the corpus as the page path makes them: (article or None, its
    page's HTML)."""
    from bench.corpus import page, real_pages
    from bench.pages import _url
    from processing.dedup import content_hash

    global _PARTS
    _PARTS = _PARTS or real_pages(benchmark())
    out = []
    for n in range(start, stop):
        base = articles[n % BASE]
        html = page(_PARTS, n).decode()
        if base is None:
            out.append((None, html))
            continue
        old, new = f"Copy {n % BASE}.", f"Copy {n}."
        text = base.text.replace(old, new, 1)
        title = base.title.replace(old, new, 1) if base.title else base.title
        moment = base.fetched_at + timedelta(seconds=n)
        article = replace(
            base,
            url=_url(n),
            title=title,
            text=text,
            content_hash=content_hash(text),
            fetched_at=moment,
        )
        out.append((article, html))
    return out


def one(size: int, chunk: int, cache: Path) -> dict[str, Any]:
    """Commit `size` copies chunk by chunk into a fresh warehouse; CPU by step and RSS."""
    import tempfile

    from bench.pages import _url, timed
    from connectors.config import Revisit
    from connectors.records import FetchAttempt, Outcome
    from pipeline.ingest import translate_results
    from processing.records import UrlResult
    from warehouse.interface import DuckDBWarehouse
    from warehouse.loads import RunKey, pack_attempt

    articles = base_articles(cache)
    now = datetime.now(UTC)
    run = RunKey("bench-hooks")
    totals: dict[str, float] = defaultdict(float)
    per_chunk: list[dict[str, float]] = []
    rss_before = _status("VmRSS")
    started = time.process_time()
    with timed(STEPS, totals), tempfile.TemporaryDirectory(prefix="bench-hooks-") as tmp:
        warehouse = DuckDBWarehouse(Path(tmp) / "w.duckdb")
        with warehouse.holding():
            for start in range(0, size, chunk):
                results, packed = [], {}
                stop = min(start + chunk, size)
                for n, (article, html) in enumerate(copies(articles, start, stop), start):
                    attempt = FetchAttempt(
                        "bench", _url(n), Outcome.OK, now, 200, "text/html", html
                    )
                    if (body := pack_attempt(attempt)) is not None:
                        packed[attempt.url] = body
                        attempt = replace(attempt, text=None)
                    results.append(UrlResult(attempt, article))
                before = dict(totals)
                results = translate_results(results, warehouse, {})
                warehouse.commit_chunk(run, results, lambda _: Revisit(), now, packed)
                per_chunk.append({k: totals[k] - before.get(k, 0.0) for k in HOOKS})
        hwm = _status("VmHWM")
    hooks = [sum(c.values()) for c in per_chunk]
    return {
        "size": size,
        "cpu_s": {k: round(v, 2) for k, v in totals.items()},
        "hooks_s": round(sum(totals[k] for k in HOOKS), 2),
        "whole_s": round(time.process_time() - started, 2),
        "first5_hooks_s_a_chunk": round(sum(hooks[:5]) / len(hooks[:5]), 3),
        "last5_hooks_s_a_chunk": round(sum(hooks[-5:]) / len(hooks[-5:]), 3),
        "rss_before_mb": rss_before,
        "peak_rss_mb": hwm,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--chunk", type=int, default=200)
    parser.add_argument("--tree", nargs="+", type=Path, default=[ROOT], help="checkouts to run")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        tree = args.tree[0].resolve()
        sys.path.insert(0, str(tree))
        sys.path.insert(1, str(ROOT))
        cache = Path(f"/tmp/bench-hooks-base-{abs(hash(str(tree)))}.pkl")
        print(json.dumps(one(args.one, args.chunk, cache)))
        return 0
    print(f"load average {os.getloadavg()[0]:.1f}; chunks of {args.chunk}")
    rows = []
    for size in args.sizes:
        for tree in args.tree:
            command = [sys.executable, __file__, "--one", str(size), "--chunk", str(args.chunk)]
            done = subprocess.run(
                [*command, "--tree", str(tree)], capture_output=True, text=True, check=False
            )
            if done.returncode:
                print(done.stdout, done.stderr[-3000:])
                return 1
            row = {"tree": str(tree), **json.loads(done.stdout.splitlines()[-1])}
            rows.append(row)
            steps = "  ".join(f"{k} {v:.2f}" for k, v in row["cpu_s"].items())
            print(
                f"{tree}  {size:>6}  hooks {row['hooks_s']:6.2f} s (a chunk: first 5 "
                f"{row['first5_hooks_s_a_chunk']:.3f}, last 5 {row['last5_hooks_s_a_chunk']:.3f})"
                f"  [{steps}]  whole {row['whole_s']:.2f} s  RSS {row['rss_before_mb']} -> "
                f"peak {row['peak_rss_mb']} MB  (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
