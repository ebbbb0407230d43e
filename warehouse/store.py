"""Connections and loads: atomic, idempotent batches; read-only access for analysts."""

from __future__ import annotations

import os
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
from warehouse.schema import migrate

DEFAULT_DB = Path("data") / "newsflow.duckdb"
_LOCK_WAIT_SECONDS = 30.0


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file for writing longer than we waited."""


@dataclass(frozen=True)
class LoadResult:
    """What one batch changed: articles new to the warehouse and those it already had."""

    inserted: int
    duplicates: int
    logged: int


def db_path() -> Path:
    """The warehouse file: env NEWSFLOW_DB, else ./data/newsflow.duckdb."""
    return Path(os.environ.get("NEWSFLOW_DB") or DEFAULT_DB)


@contextmanager
def connect(
    path: Path | None = None, read_only: bool = False, wait_seconds: float = _LOCK_WAIT_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection; writers migrate the schema, everyone waits out a busy file.

    DuckDB lets one process write a file at a time, so a second process retries for
    wait_seconds and then fails with a message that says what holds the file.
    """
    path = Path(path or db_path())
    if read_only and not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `newsflow ingest` or `newsflow demo`")
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            conn = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                if "lock" in str(exc).lower():
                    raise WarehouseBusy(f"warehouse {path} is locked by a writer: {exc}") from exc
                raise
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
    with _registered(conn, batch=pa.Table.from_pylist(rows)):
        conn.execute("INSERT OR REPLACE INTO sources BY NAME SELECT * FROM batch")


def known_urls(conn: duckdb.DuckDBPyConnection, urls: Iterable[str]) -> set[str]:
    """Which of these URLs are already stored as articles."""
    candidates = pa.table({"url": pa.array(sorted(set(urls)), pa.string())})
    with _registered(conn, candidates=candidates):
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
    ]
)


def load_batch(
    conn: duckdb.DuckDBPyConnection, outcomes: Sequence[Outcome], run_id: str | None = None
) -> LoadResult:
    """Insert a batch's articles and its fetch log in one transaction.

    An article whose URL is already stored is kept as it was and logged as "duplicate", a new
    one as "stored"; loading the same batch twice adds no article. If anything fails, nothing
    of the batch is written.
    """
    articles = [o.article for o in outcomes if o.article is not None]
    article_rows = pa.Table.from_pylist([_article_row(a) for a in articles], _ARTICLE_SCHEMA)
    with _transaction(conn):
        with _registered(conn, article_rows=article_rows):
            inserted = {
                row[0]
                for row in conn.execute(
                    "INSERT INTO articles BY NAME SELECT * FROM article_rows "
                    "QUALIFY row_number() OVER (PARTITION BY url) = 1 "
                    "ON CONFLICT (url) DO NOTHING RETURNING url"
                ).fetchall()
            }
        first_claims: set[str] = set()
        log = []
        for outcome in outcomes:
            attempt, article = outcome.attempt, outcome.article
            if article is not None:
                new = article.url in inserted and article.url not in first_claims
                first_claims.add(article.url)
                attempt = replace(attempt, outcome="stored" if new else "duplicate")
            log.append(_log_row(attempt, run_id))
        with _registered(conn, log_rows=pa.Table.from_pylist(log, _LOG_SCHEMA)):
            conn.execute("INSERT INTO fetch_log BY NAME SELECT * FROM log_rows")
    return LoadResult(len(inserted), len(articles) - len(inserted), len(log))


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


@contextmanager
def _registered(conn: duckdb.DuckDBPyConnection, **tables: pa.Table) -> Iterator[None]:
    """Expose Arrow tables to SQL by name for the duration of a block."""
    for name, table in tables.items():
        conn.register(name, table)
    try:
        yield
    finally:
        for name in tables:
            conn.unregister(name)


@contextmanager
def _transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing: a batch that fails half-way leaves no trace."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _article_row(article: Article) -> dict[str, object]:
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
    }


def _log_row(attempt: FetchAttempt, run_id: str | None) -> dict[str, object]:
    return {
        "run_id": run_id,
        "source_id": attempt.source_id,
        "url": attempt.url,
        "outcome": attempt.outcome,
        "http_status": attempt.http_status,
        "error": attempt.error,
        "attempted_at": _utc(attempt.attempted_at),
    }
