"""Load synthetic articles through the warehouse API and row by row; print rows/s and the ratio.

    .venv/bin/python bench/load.py [--rows 100000] [--batch 10000]

Both paths write the same articles and fetch-log rows into fresh DuckDB files in one run. The
API path is store.load_batch (Arrow tables, one transaction per batch, duplicate and archive
checks included); the baseline is executemany with one INSERT per row, as naive code would do.
The time to cluster and index the loaded articles afterwards is printed on its own line.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.records import FetchAttempt  # noqa: E402
from processing.dedup import content_hash  # noqa: E402
from processing.records import Article, Outcome, Translation  # noqa: E402
from warehouse import store  # noqa: E402

WORDS = re.findall(
    r"\w+",
    "government minister village river bridge court police election protest border region "
    "school hospital market oil gas pipeline president parliament journalist festival storm "
    "flood road council farmers prices bank army security meeting report said today",
)


def synthetic(count: int, seed: int = 7) -> list[Outcome]:
    """Distinct articles of ~150 words each, spread over sources, languages and days."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    outcomes = []
    for i in range(count):
        text = " ".join(rng.choices(WORDS, k=150)) + f" ({i})"
        source = ("caucasian-knot", "caliber-az", "toutiao")[i % 3]
        moment = start + timedelta(minutes=7 * i)
        url = f"https://example.org/{source}/{i}"
        article = Article(
            source_id=source,
            url=url,
            title=f"Story {i}",
            text=text,
            language=("ru", "en", "zh")[i % 3],
            fetched_at=moment,
            content_hash=content_hash(text),
            published_at=moment,
            translation=Translation("done", f"Story {i}", text, "argos:bench@1"),
        )
        outcomes.append(Outcome(FetchAttempt(source, url, "ok", moment, 200), article))
    return outcomes


def through_api(path: Path, outcomes: list[Outcome], batch: int) -> float:
    """Seconds to load everything with store.load_batch, batch by batch."""
    started = time.perf_counter()
    for i in range(0, len(outcomes), batch):
        with store.connect(path) as conn:
            store.load_batch(conn, outcomes[i : i + batch], run_id="bench")
    return time.perf_counter() - started


def row_by_row(path: Path, outcomes: list[Outcome]) -> float:
    """Seconds to insert the same rows with executemany, one INSERT per row."""
    articles = [store._article_row(o.article, None, None) for o in outcomes if o.article]
    log = [store._log_row(o.attempt, "bench", None) for o in outcomes]
    with store.connect(path) as conn:
        started = time.perf_counter()
        conn.execute("BEGIN TRANSACTION")
        for table, rows in (("articles", articles), ("fetch_log", log)):
            columns = list(rows[0])
            marks = ", ".join("?" for _ in columns)
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [list(row.values()) for row in rows],
            )
        conn.execute("COMMIT")
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    outcomes = synthetic(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        api = through_api(Path(tmp) / "api.duckdb", outcomes, args.batch)
        with store.connect(Path(tmp) / "api.duckdb") as conn:
            started = time.perf_counter()
            store.refresh_derived(conn)
            derived = time.perf_counter() - started
        baseline = row_by_row(Path(tmp) / "rows.duckdb", outcomes)
    print(f"articles:                     {args.rows}")
    for label, seconds in (
        ("warehouse API (load_batch)", api),
        ("row-by-row executemany", baseline),
        ("then clusters + search index", derived),
    ):
        print(f"{label + ':':<30}{args.rows / seconds:12,.0f} rows/s  ({seconds:.1f} s)")
    print(f"{'ratio (API / row-by-row):':<30}{baseline / api:12.1f}x")


if __name__ == "__main__":
    main()
