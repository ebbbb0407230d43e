"""Commit synthetic chunks through the warehouse's chunk API and row by row; print rows/s, ratio.

    .venv/bin/python bench/load.py [--rows 100000] [--chunk 200]

Both paths write the same fetched pages into fresh DuckDB files in one run: each page's body
to the raw archive (a zstd file and its row), its article, its fetch_log row and its frontier
row. The API path is loads.commit_chunk, one transaction per chunk on the connection a run's
stream holds (store.holding) as ingest commits them (Arrow tables, stored-URL and
text-duplicate checks included); the baseline is
executemany with one INSERT per row, all in one transaction, as naive code would do. The time
to cluster and index the loaded articles afterwards is printed on its own line, and the share of
the API path spent closing the held connection at the end (DuckDB's checkpoint). Each path's
line gives its CPU seconds too (the process's, DuckDB's threads included).

Then the crash check (--crash-rows, 0 to skip): a child process commits chunks through the API
as above and is killed with SIGKILL in the middle of a chunk, after half of them; the file it
leaves must hold whole chunks only, every chunk the child reported committed, and every body a
row names readable from the archive with the SHA-256 its key says. A kill -9 leaves the page
cache to the kernel, so this checks the order of writes and the atomicity of a chunk, not what
a power cut would do to a body not yet synced. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.config import Revisit  # noqa: E402
from connectors.records import FetchAttempt, Outcome  # noqa: E402
from pipeline.ingest import CHUNK_SIZE  # noqa: E402
from processing.dedup import content_hash  # noqa: E402
from processing.records import Article, Translation, UrlResult  # noqa: E402
from warehouse import loads, store  # noqa: E402
from warehouse.archive import archive_root, body_path, pack, read_bodies  # noqa: E402
from warehouse.clusters import assign_clusters  # noqa: E402
from warehouse.loads import RunKey  # noqa: E402
from warehouse.search import refresh_index  # noqa: E402

WORDS = re.findall(
    r"\w+",
    "government minister village river bridge court police election protest border region "
    "school hospital market oil gas pipeline president parliament journalist festival storm "
    "flood road council farmers prices bank army security meeting report said today",
)
RUN = RunKey("bench")


def synthetic(count: int, seed: int = 7) -> list[UrlResult]:
    """Distinct fetched pages of ~150 words each, spread over sources, languages and days.

    Each attempt carries its page body, and its article the translation step's result.
    """
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    results = []
    for i in range(count):
        text = " ".join(rng.choices(WORDS, k=150)) + f" ({i})"
        source = ("caucasian-knot", "caliber-az", "toutiao")[i % 3]
        moment = start + timedelta(minutes=7 * i)
        url = f"https://example.org/{source}/{i}"
        page = f"<html><head><title>Story {i}</title></head><body><p>{text}</p></body></html>"
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
        attempt = FetchAttempt(source, url, Outcome.OK, moment, 200, "text/html", page)
        results.append(UrlResult(attempt, article))
    return results


def through_api(path: Path, results: list[UrlResult], chunk: int) -> tuple[float, float, float]:
    """Seconds to commit everything with loads.commit_chunk, chunk by chunk in one holding()
    block as a run's stream commits them, of those the seconds spent closing the held
    connection at the end (DuckDB's checkpoint of what its WAL still holds), and CPU seconds."""
    now = datetime.now(UTC)
    started, cpu = time.perf_counter(), time.process_time()
    with store.holding(path):
        for i in range(0, len(results), chunk):
            with store.connect(path) as conn:
                loads.commit_chunk(conn, RUN, results[i : i + chunk], lambda _: Revisit(), now)
        closed = time.perf_counter()
    ended = time.perf_counter()
    return ended - started, ended - closed, time.process_time() - cpu


def commit_into(path: Path, rows: int, chunk: int) -> None:
    """The crash check's child: commit the synthetic rows chunk by chunk as through_api does,
    printing each chunk's number once it has committed."""
    results, now = synthetic(rows), datetime.now(UTC)
    with store.holding(path):
        for number, i in enumerate(range(0, len(results), chunk)):
            with store.connect(path) as conn:
                loads.commit_chunk(conn, RUN, results[i : i + chunk], lambda _: Revisit(), now)
            print(number, flush=True)


def crash_check(rows: int, chunk: int) -> str:
    """Kill -9 a process committing chunks in the middle of one, after half of them; what the
    file holds then (see the module's docstring). Raises AssertionError where it is wrong."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crash.duckdb"
        command = [sys.executable, __file__, "--commit-into", str(path), "--rows", str(rows)]
        child = subprocess.Popen([*command, "--chunk", str(chunk)], stdout=subprocess.PIPE)
        assert child.stdout is not None
        chunks, reported, last = -(-rows // chunk), -1, time.perf_counter()
        while reported < chunks // 2:
            line = child.stdout.readline()
            assert line, "the child ended before it was killed"
            reported, took, last = int(line), time.perf_counter() - last, time.perf_counter()
        time.sleep(random.uniform(0, took))  # somewhere in the next chunk
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        reported = max([reported, *(int(line) for line in child.stdout.read().split())])
        with store.connect(path) as conn:
            articles = conn.execute("SELECT count(*) FROM articles").fetchone()
            logged = conn.execute("SELECT count(*) FROM fetch_log").fetchone()
            keys = [key for (key,) in conn.execute("SELECT sha256 FROM raw_archive").fetchall()]
            unnamed = conn.execute(
                "SELECT count(*) FROM articles WHERE raw_sha256 NOT IN "
                "(SELECT sha256 FROM raw_archive)"
            ).fetchone()
            bodies = read_bodies(conn, keys)
            named = {row[0] for row in conn.execute("SELECT pack FROM raw_archive").fetchall()}
            root = archive_root(conn)
        on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
        stored = articles[0] if articles else 0
        assert stored % chunk == 0 and logged == articles, f"a chunk cut short: {stored} rows"
        assert reported + 1 <= stored // chunk <= reported + 2, (stored, reported)
        assert unnamed == (0,), "an article names a body with no archive row"
        for key, body in zip(keys, bodies, strict=True):
            assert hashlib.sha256(body.encode("utf-8")).hexdigest() == key, key
        lost = stored // chunk - reported - 1
        return (
            f"killed in chunk {reported + 2} of {chunks}: {stored // chunk} whole chunks kept "
            f"({lost} committed after the last it reported), {len(keys)} bodies read back intact, "
            f"{len(on_disk - named)} file(s) no row names (the chunk in flight's, for maintenance)"
        )


def row_by_row(path: Path, results: list[UrlResult]) -> tuple[float, float]:
    """Seconds to write the same rows (archive, articles, fetch_log, frontier) one INSERT each,
    and CPU seconds."""
    now = datetime.now(UTC)
    with store.connect(path) as conn:
        started, cpu = time.perf_counter(), time.process_time()
        tables: dict[str, list[dict[str, object]]] = {
            "raw_archive": [],
            "articles": [],
            "fetch_log": [],
            "frontier": [],
        }
        for result in results:
            attempt, article = result.attempt, result.article
            assert attempt.text is not None and article is not None
            body = pack(attempt.text, attempt.content_type, attempt.attempted_at)
            path = body_path(archive_root(conn), body.sha256)  # naively: one synced file a body
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as file:
                file.write(body.compressed)
                os.fsync(file.fileno())
            key = body.sha256
            tables["raw_archive"].append(body.row())
            tables["articles"].append(loads._article_row(article, str(key), None))
            tables["fetch_log"].append(
                {
                    "run_id": RUN.run_id,
                    "attempt": RUN.attempt,
                    "source_id": attempt.source_id,
                    "url": attempt.url,
                    "outcome": str(Outcome.STORED),
                    "http_status": attempt.http_status,
                    "attempted_at": attempt.attempted_at,
                    "raw_sha256": key,
                    "kind": attempt.kind,
                }
            )
            tables["frontier"].append(
                {
                    "url": article.url,
                    "source_id": article.source_id,
                    "state": str(Outcome.STORED),
                    "resolved_url": article.url,
                    "first_seen": now,
                    "last_fetched": now,
                }
            )
        conn.execute("BEGIN TRANSACTION")
        for table, rows in tables.items():
            columns = list(rows[0])
            marks = ", ".join("?" for _ in columns)
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [list(row.values()) for row in rows],
            )
        conn.execute("COMMIT")
        return time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=CHUNK_SIZE, help="URLs per commit")
    parser.add_argument("--crash-rows", type=int, default=4000, help="rows of the crash check")
    parser.add_argument("--commit-into", type=Path, help=argparse.SUPPRESS)  # its child
    args = parser.parse_args()
    if args.commit_into:
        commit_into(args.commit_into, args.rows, args.chunk)
        return
    results = synthetic(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        api, checkpoints, api_cpu = through_api(Path(tmp) / "api.duckdb", results, args.chunk)
        with store.connect(Path(tmp) / "api.duckdb") as conn:
            started, cpu = time.perf_counter(), time.process_time()
            assign_clusters(conn)
            refresh_index(conn)
            derived, derived_cpu = time.perf_counter() - started, time.process_time() - cpu
        baseline, baseline_cpu = row_by_row(Path(tmp) / "rows.duckdb", results)
    print(f"articles:                     {args.rows} in chunks of {args.chunk}")
    for label, seconds, cpu in (
        ("chunk API (commit_chunk)", api, api_cpu),
        ("row-by-row executemany", baseline, baseline_cpu),
        ("then clusters + search index", derived, derived_cpu),
    ):
        print(
            f"{label + ':':<30}{args.rows / seconds:12,.0f} rows/s  ({seconds:.1f} s, "
            f"CPU {cpu:.1f} s)"
        )
    print(f"{'ratio (API / row-by-row):':<30}{baseline / api:12.1f}x")
    print(
        f"{'of the API, closing:':<30}{checkpoints / api:12.0%}  ({checkpoints:.1f} s: the held "
        "connection's checkpoint at the end; DuckDB's own at its WAL threshold are in the chunks)"
    )
    if args.crash_rows:
        print(f"{'crash check (kill -9):':<30}{crash_check(args.crash_rows, args.chunk)}")


if __name__ == "__main__":
    main()
