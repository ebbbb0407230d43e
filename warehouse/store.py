"""Connections and loads: atomic, idempotent batches; read-only access for analysts."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from connectors.config import Source
from connectors.records import FetchAttempt
from processing.records import Article, Outcome
from warehouse import translations
from warehouse.archive import ARCHIVE_SCHEMA, archive_row
from warehouse.clusters import assign_clusters
from warehouse.reports import SourceReport
from warehouse.schema import migrate
from warehouse.search import refresh_index
from warehouse.sql import registered, transaction

DEFAULT_DB = Path("data") / "newsflow.duckdb"
WRITE_WAIT_SECONDS = 300.0  # a writer waits out another run's load, clusters and index
READ_WAIT_SECONDS = 10.0  # how long `newsflow sql` and `newsflow search` wait out a writer
WAIT_LOG_SECONDS = 30.0  # a waiting writer says who holds the file this often
# Not a Prefect logger: flows forward it to the run's log (PREFECT_LOGGING_EXTRA_LOGGERS=newsflow).
log = logging.getLogger("newsflow.warehouse")
_HOLDER = re.compile(r"PID (\d+)")


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file for writing longer than we waited."""


@dataclass(frozen=True)
class LoadResult:
    """What one batch changed: articles new to the warehouse and those it already had."""

    inserted: int  # new stories
    duplicates: int  # same canonical URL or same normalized text as a stored article
    logged: int


@dataclass(frozen=True)
class RunRecord:
    """A flow run as the runs table keeps it; the counts come from its fetch log."""

    run_id: str
    flow: str
    started_at: datetime | None
    ended_at: datetime
    parameters: dict[str, object]


def db_path() -> Path:
    """The warehouse file: env NEWSFLOW_DB, else ./data/newsflow.duckdb."""
    return Path(os.environ.get("NEWSFLOW_DB") or DEFAULT_DB)


@contextmanager
def connect(
    path: Path | None = None,
    read_only: bool = False,
    wait_seconds: float = WRITE_WAIT_SECONDS,
    log_every: float = WAIT_LOG_SECONDS,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection; writers migrate the schema, everyone waits out a busy file.

    DuckDB lets one process write a file at a time, so a second process retries for
    wait_seconds, logging who holds the file every log_every seconds, and then fails with a
    message that says what holds it.
    """
    path = Path(path or db_path())
    if read_only and not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `newsflow ingest` or `newsflow demo`")
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    next_log = started + log_every
    while True:
        try:
            conn = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            waited = time.monotonic() - started
            if waited >= wait_seconds:
                busy = WarehouseBusy(
                    f"warehouse {path} is busy: {_holder(str(exc))} is writing to it "
                    f"(waited {wait_seconds:g} s); try again when it has finished"
                )
                log.error("%s", busy)
                raise busy from exc
            if time.monotonic() >= next_log:
                log.warning(
                    "waiting for warehouse %s: %s holds it (%.0f s of %g s)",
                    path,
                    _holder(str(exc)),
                    waited,
                    wait_seconds,
                )
                next_log += log_every
            time.sleep(0.2)
    try:
        if not read_only:
            migrate(conn)
        yield conn
    finally:
        conn.close()


def register_sources(conn: duckdb.DuckDBPyConnection, sources: Sequence[Source]) -> None:
    """Upsert the configured sources so articles can be joined to their names."""
    now = datetime.now(UTC)
    rows = [
        {
            "id": s.id,
            "name": s.name,
            "kind": s.kind,
            "base_url": s.base_url,
            "language": s.language,
            "updated_at": now,
        }
        for s in sources
    ]
    if not rows:
        return
    with registered(conn, batch=pa.Table.from_pylist(rows)):
        conn.execute("INSERT OR REPLACE INTO sources BY NAME SELECT * FROM batch")


def known_urls(conn: duckdb.DuckDBPyConnection, urls: Iterable[str]) -> set[str]:
    """Which of these URLs are already stored as articles."""
    candidates = pa.table({"url": pa.array(sorted(set(urls)), pa.string())})
    with registered(conn, candidates=candidates):
        rows = conn.execute(
            "SELECT a.url FROM articles a JOIN candidates c ON a.url = c.url"
        ).fetchall()
    return {row[0] for row in rows}


_ARTICLE_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("source_id", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
        ("language", pa.string()),
        ("author", pa.string()),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
        ("content_hash", pa.string()),
        ("title_en", pa.string()),
        ("text_en", pa.string()),
        ("translation_status", pa.string()),
        ("translation_model", pa.string()),
        ("translation_error", pa.string()),
        ("raw_sha256", pa.string()),
        ("duplicate_of", pa.string()),
    ]
)
_LOG_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("source_id", pa.string()),
        ("url", pa.string()),
        ("outcome", pa.string()),
        ("http_status", pa.int32()),
        ("error", pa.string()),
        ("attempted_at", pa.timestamp("us", tz="UTC")),
        ("raw_sha256", pa.string()),
        ("kind", pa.string()),
    ]
)


def load_batch(
    conn: duckdb.DuckDBPyConnection, outcomes: Sequence[Outcome], run_id: str | None = None
) -> LoadResult:
    """Insert a batch's raw bodies, articles and fetch log in one transaction.

    An article whose URL is already stored is kept as it was and logged as "duplicate", a new
    one as "stored"; loading the same batch twice adds no article. A new URL whose normalized
    text is already stored is kept with duplicate_of set and logged as "duplicate". If anything
    fails, nothing of the batch is written.
    """
    bodies = [
        archive_row(o.attempt.text, o.attempt.content_type, _utc(o.attempt.attempted_at))
        if o.attempt.text is not None
        else None
        for o in outcomes
    ]
    keys = [body["sha256"] if body else None for body in bodies]
    raw_rows = pa.Table.from_pylist([b for b in bodies if b], ARCHIVE_SCHEMA)
    articles = [(o.article, key) for o, key in zip(outcomes, keys, strict=True) if o.article]
    with transaction(conn):
        duplicate_of = _text_duplicates(conn, [a for a, _ in articles])
        article_rows = pa.Table.from_pylist(
            [_article_row(a, key, duplicate_of.get(a.url)) for a, key in articles], _ARTICLE_SCHEMA
        )
        with registered(conn, article_rows=article_rows, raw_rows=raw_rows):
            conn.execute(
                "INSERT INTO raw_archive BY NAME SELECT * FROM raw_rows "
                "QUALIFY row_number() OVER (PARTITION BY sha256) = 1 "
                "ON CONFLICT (sha256) DO NOTHING"
            )
            inserted = {
                row[0]
                for row in conn.execute(
                    "INSERT INTO articles BY NAME SELECT * FROM article_rows "
                    "QUALIFY row_number() OVER (PARTITION BY url) = 1 "
                    "ON CONFLICT (url) DO NOTHING RETURNING url"
                ).fetchall()
            }
        translations.save_paragraphs(
            conn, [(a.url, a.translation) for a, _ in articles if a.url in inserted]
        )
        first_claims: set[str] = set()
        log = []
        for outcome, key in zip(outcomes, keys, strict=True):
            attempt, article = outcome.attempt, outcome.article
            if article is not None:
                new = article.url in inserted and article.url not in first_claims
                new = new and article.url not in duplicate_of
                first_claims.add(article.url)
                attempt = replace(attempt, outcome="stored" if new else "duplicate")
            log.append(_log_row(attempt, run_id, key))
        with registered(conn, log_rows=pa.Table.from_pylist(log, _LOG_SCHEMA)):
            conn.execute("INSERT INTO fetch_log BY NAME SELECT * FROM log_rows")
    stories = len(inserted - duplicate_of.keys())
    return LoadResult(stories, len(articles) - stories, len(log))


def replace_articles(conn: duckdb.DuckDBPyConnection, articles: Sequence[Article]) -> int:
    """Overwrite stored articles with a fresh processing of the same page, in one transaction.

    Only URLs already stored are touched (and their paragraphs rewritten); their archive
    reference and duplicate link are kept.
    """
    rows = pa.Table.from_pylist([_article_row(a, None, None) for a in articles], _ARTICLE_SCHEMA)
    with transaction(conn), registered(conn, fresh=rows):
        updated = conn.execute(
            "UPDATE articles a SET title = f.title, text = f.text, language = f.language, "
            "author = f.author, published_at = f.published_at, content_hash = f.content_hash, "
            "title_en = f.title_en, text_en = f.text_en, "
            "translation_status = f.translation_status, "
            "translation_model = f.translation_model, translation_error = f.translation_error "
            "FROM fresh f WHERE a.url = f.url RETURNING a.url"
        ).fetchall()
        done = {row[0] for row in updated}
        translations.save_paragraphs(
            conn, [(a.url, a.translation) for a in articles if a.url in done]
        )
    return len(updated)


def refresh_derived(conn: duckdb.DuckDBPyConnection) -> None:
    """What follows every load: story clusters for new articles, a fresh search index."""
    assign_clusters(conn)
    refresh_index(conn)


def record_run(
    conn: duckdb.DuckDBPyConnection, run: RunRecord, reports: Sequence[SourceReport]
) -> None:
    """Write (or rewrite) a run's row: totals of the per-source figures its summary shows."""
    conn.execute(
        "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run.run_id,
            run.flow,
            _utc(run.started_at),
            _utc(run.ended_at),
            json.dumps(run.parameters, default=str),
            sum(r.fetched for r in reports),
            sum(r.new for r in reports),
            sum(r.duplicate for r in reports),
            sum(r.failed for r in reports),
            sum(r.translated for r in reports),
        ],
    )


def run_outcomes(conn: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, dict[str, int]]:
    """How many URLs of a run ended in each outcome, per source, as the fetch log says."""
    rows = conn.execute(
        "SELECT source_id, outcome, count(*) FROM fetch_log WHERE run_id = ? "
        "GROUP BY ALL ORDER BY ALL",
        [run_id],
    ).fetchall()
    summary: dict[str, dict[str, int]] = {}
    for source_id, outcome, count in rows:
        summary.setdefault(source_id, {})[outcome] = count
    return summary


def _text_duplicates(conn: duckdb.DuckDBPyConnection, articles: list[Article]) -> dict[str, str]:
    """New URLs whose normalized text is stored (or earlier in the batch) under another URL.

    Returns {url: url of the first article with that text}.
    """
    unique = sorted({a.content_hash for a in articles})
    hashes = pa.table({"content_hash": pa.array(unique, pa.string())})
    with registered(conn, hashes=hashes):
        first = dict(
            conn.execute(
                "SELECT a.content_hash, min(a.url) FROM articles a "
                "JOIN hashes USING (content_hash) WHERE a.duplicate_of IS NULL GROUP BY 1"
            ).fetchall()
        )
    known = known_urls(conn, [a.url for a in articles])
    duplicates: dict[str, str] = {}
    for article in articles:
        if article.url in known or article.url in duplicates:
            continue
        original = first.setdefault(article.content_hash, article.url)
        if original != article.url:
            duplicates[article.url] = original
    return duplicates


def _holder(message: str) -> str:
    """Which process holds the file, from DuckDB's lock error: its PID and command line."""
    match = _HOLDER.search(message)
    if not match:
        return "another process"
    try:
        raw = Path(f"/proc/{match[1]}/cmdline").read_bytes()
        command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        command = ""
    return f"process {match[1]}" + (f" ({command})" if command else "")


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _article_row(
    article: Article, raw_sha256: str | None, duplicate_of: str | None
) -> dict[str, object]:
    translation = article.translation
    return {
        "url": article.url,
        "source_id": article.source_id,
        "title": article.title,
        "text": article.text,
        "language": article.language,
        "author": article.author,
        "published_at": _utc(article.published_at),
        "fetched_at": _utc(article.fetched_at),
        "content_hash": article.content_hash,
        "title_en": translation.title_en if translation else None,
        "text_en": translation.text_en if translation else None,
        "translation_status": translation.status if translation else "pending_model",
        "translation_model": translation.model if translation else None,
        "translation_error": translation.error if translation else None,
        "raw_sha256": raw_sha256,
        "duplicate_of": duplicate_of,
    }


def _log_row(
    attempt: FetchAttempt, run_id: str | None, raw_sha256: str | None
) -> dict[str, object]:
    return {
        "run_id": run_id,
        "source_id": attempt.source_id,
        "url": attempt.url,
        "outcome": attempt.outcome,
        "http_status": attempt.http_status,
        "error": attempt.error,
        "attempted_at": _utc(attempt.attempted_at),
        "raw_sha256": raw_sha256,
        "kind": attempt.kind,
    }
