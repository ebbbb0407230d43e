"""Writes of the pipeline: listings and chunks, each in one transaction with its frontier rows.

A chunk's bodies go to the raw archive, its new articles (and their paragraphs) to articles,
every attempt to fetch_log, and every URL's new state to the frontier, together: a crash
loses at most the chunk in flight, and what was committed is never fetched again for nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from connectors.config import Revisit
from connectors.records import FetchAttempt, Link, Outcome, TranslationStatus
from processing.dedup import canonical_url
from processing.records import Article, UrlResult
from warehouse import frontier, translations
from warehouse.archive import ARCHIVE_SCHEMA, archive_row
from warehouse.revisit import next_due
from warehouse.sql import merge, registered, transaction


@dataclass(frozen=True)
class RunKey:
    """A flow run and which try of it (a retry from the UI keeps the id, not the figures)."""

    run_id: str
    attempt: int = 1


@dataclass(frozen=True)
class LoadResult:
    """What one chunk changed: articles new to the warehouse and those it already had."""

    inserted: int  # new stories
    duplicates: int  # same canonical URL or same normalized text as a stored article
    logged: int


def record_listings(
    conn: duckdb.DuckDBPyConnection,
    run: RunKey,
    attempts: Sequence[FetchAttempt],
    links: Sequence[Link],
    now: datetime,
) -> int:
    """A source's listing requests (archived, logged) and the URLs they named, in one go.

    Returns how many URLs were new to the frontier; the known ones are not logged again.
    """
    keys = _archive(conn, attempts)
    with transaction(conn):
        _log(conn, run, attempts, keys)
        return frontier.record_listed(conn, links, now)


def commit_chunk(
    conn: duckdb.DuckDBPyConnection,
    run: RunKey,
    results: Sequence[UrlResult],
    policy: Callable[[str], Revisit],
    now: datetime,
) -> LoadResult:
    """Load one chunk of fetched URLs atomically, and set each URL's frontier state.

    An article whose URL is already stored is kept as it was and logged "duplicate"; a new one
    "stored"; a new URL whose normalized text is stored under another URL is kept with
    duplicate_of set. A listed URL that led to an article under another URL (a redirect, its
    canonical on the same site) becomes an alias of it. policy(source_id) is the source's
    revisit policy. If anything fails, nothing of the chunk is written.
    """
    keys = _archive(conn, [r.attempt for r in results])
    with transaction(conn):
        candidates = [r.article for r in results if r.article and r.attempt.outcome == Outcome.OK]
        stored_before = _stored(conn, [a.url for a in candidates])
        duplicate_of = _text_duplicates(conn, [a for a in candidates if a.url not in stored_before])
        fresh = {a.url: a for a in candidates if a.url not in stored_before}
        body = {r.article.url: keys.get(r.attempt.url) for r in results if r.article}
        rows = pa.Table.from_pylist(
            [_article_row(a, body[a.url], duplicate_of.get(a.url)) for a in fresh.values()],
            _ARTICLE_SCHEMA,
        )
        with registered(conn, article_rows=rows):
            conn.execute("INSERT INTO articles BY NAME SELECT * FROM article_rows")
        translations.save_paragraphs(
            conn, [(a.url, a.translation) for a in fresh.values() if a.url not in duplicate_of]
        )
        claimed: set[str] = set()
        logged, states = [], []
        for result in results:
            attempt, article = result.attempt, result.article
            if attempt.outcome == Outcome.OK and article is not None:
                first = article.url in fresh and article.url not in claimed
                claimed.add(article.url)
                new = first and article.url not in duplicate_of
                attempt = replace(
                    attempt,
                    outcome=Outcome.STORED if new else Outcome.DUPLICATE,
                    error=None if new else _duplicate_reason(article.url, duplicate_of),
                )
            logged.append(attempt)
            states += _states(result, attempt, duplicate_of, policy, now)
        _log(conn, run, logged, keys)
        frontier.write_states(conn, states)
    stories = sum(1 for a in logged if a.outcome == Outcome.STORED)
    return LoadResult(
        stories, sum(1 for a in logged if a.outcome == Outcome.DUPLICATE), len(logged)
    )


def replace_articles(conn: duckdb.DuckDBPyConnection, articles: Sequence[Article]) -> int:
    """Overwrite stored articles with a fresh processing of the same page, in one transaction.

    Only URLs already stored are touched (and their paragraphs rewritten); their archive
    reference and duplicate link are kept.
    """
    rows = pa.Table.from_pylist([_article_row(a, None, None) for a in articles], _ARTICLE_SCHEMA)
    with transaction(conn), registered(conn, fresh=rows):
        updated = conn.execute(
            "UPDATE articles a SET title = f.title, text = f.text, language = f.language, "
            "author = f.author, content_hash = f.content_hash, "
            f"published_at = CASE WHEN {_LISTED_KEPT} THEN a.published_at ELSE f.published_at END, "
            f"published_source = CASE WHEN {_LISTED_KEPT} THEN a.published_source "
            "ELSE f.published_source END, "
            "charset = coalesce(f.charset, a.charset), "
            "charset_source = coalesce(f.charset_source, a.charset_source), "
            "attribution = f.attribution, attribution_url = f.attribution_url, "
            "disclaimer = f.disclaimer, "
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


def _states(
    result: UrlResult,
    logged: FetchAttempt,
    duplicate_of: dict[str, str],
    policy: Callable[[str], Revisit],
    now: datetime,
) -> list[dict[str, object]]:
    """The frontier rows an attempt leaves: the listed URL's, and its article's where new."""
    article = result.article
    listed = logged.url
    failed = not (logged.outcome in (Outcome.STORED, Outcome.DUPLICATE) or logged.ok)
    failures = result.failures + 1 if failed and logged.outcome != Outcome.OUTSIDE_WINDOW else 0
    base = {
        "source_id": logged.source_id,
        "first_seen": now,
        "last_fetched": now,
        "attempts": failures,
        "last_status": logged.http_status,
        "last_error": logged.error,
    }
    if article is None or logged.outcome not in (Outcome.STORED, Outcome.DUPLICATE):
        published = article.published_at if article else None
        due = next_due(logged, failures, now, policy(logged.source_id))
        return [
            {
                **base,
                "url": listed,
                "state": str(logged.outcome),
                "next_due": due,
                "listed_published_at": _utc(published),
            }
        ]
    target = duplicate_of.get(article.url, article.url)
    own = Outcome.DUPLICATE if article.url in duplicate_of else Outcome.STORED
    row = {**base, "next_due": None, "listed_published_at": _utc(article.published_at)}
    if article.url == listed:
        via = "text" if own == Outcome.DUPLICATE else None
        return [{**row, "url": listed, "state": str(own), "resolved_url": target, "via": via}]
    via = "text" if own == Outcome.DUPLICATE else _via(result.attempt, article.url)
    state = Outcome.DUPLICATE if own == Outcome.DUPLICATE else Outcome.ALIAS
    return [
        {**row, "url": listed, "state": str(state), "resolved_url": target, "via": via},
        {**row, "url": article.url, "state": str(own), "resolved_url": target},
    ]


def _via(attempt: FetchAttempt, article_url: str) -> str:
    """How a listed URL led to an article stored under another URL."""
    if attempt.final_url and canonical_url(attempt.final_url) == article_url:
        return "redirect"
    return "canonical"


def _duplicate_reason(url: str, duplicate_of: dict[str, str]) -> str:
    if url in duplicate_of:
        return f"same text as {duplicate_of[url]}"
    return f"already stored as {url}"


def _stored(conn: duckdb.DuckDBPyConnection, urls: Iterable[str]) -> set[str]:
    """Which of these URLs are already stored as articles."""
    candidates = pa.table({"url": pa.array(sorted(set(urls)), pa.string())})
    with registered(conn, candidates=candidates):
        rows = conn.execute(
            "SELECT a.url FROM articles a JOIN candidates c ON a.url = c.url"
        ).fetchall()
    return {row[0] for row in rows}


def _text_duplicates(conn: duckdb.DuckDBPyConnection, articles: list[Article]) -> dict[str, str]:
    """New URLs whose normalized text is stored (or earlier in the chunk) under another URL.

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
    duplicates: dict[str, str] = {}
    for article in articles:
        original = first.setdefault(article.content_hash, article.url)
        if original != article.url:
            duplicates[article.url] = original
    return duplicates


def _archive(conn: duckdb.DuckDBPyConnection, attempts: Sequence[FetchAttempt]) -> dict[str, str]:
    """Archive every fetched body (zstd, once per SHA-256); returns {url: sha256}.

    Bodies go in before the rows that name them, in their own transaction: an orphan body
    after a crash costs space, never consistency, and the next load reuses it.
    """
    keys: dict[str, str] = {}
    rows = []
    for attempt in attempts:
        if attempt.text is None:
            continue
        row = archive_row(attempt.text, attempt.content_type, _utc(attempt.attempted_at))
        keys[attempt.url] = str(row["sha256"])
        rows.append(row)
    if rows:
        with (
            transaction(conn),
            registered(conn, raw_rows=pa.Table.from_pylist(rows, ARCHIVE_SCHEMA)),
        ):
            once = "(FROM raw_rows QUALIFY row_number() OVER (PARTITION BY sha256) = 1) AS r"
            merge(conn, "raw_archive", once, "sha256", replace=False)
    return keys


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
        ("declared_canonical", pa.string()),
        ("attribution", pa.string()),
        ("attribution_url", pa.string()),
        ("disclaimer", pa.string()),
        ("published_source", pa.string()),
        ("charset", pa.string()),
        ("charset_source", pa.string()),
    ]
)
# A page read again (reprocess, a revisit) that gives no date of its own keeps the date its
# listing gave when it was first stored: the listing is not read again with it.
_LISTED_KEPT = (
    "f.published_source IN ('url', 'none') AND a.published_source IN ('feed', 'sitemap', 'listing')"
)
_LOG_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("run_id", pa.string()),
        ("attempt", pa.int32()),
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


def _log(
    conn: duckdb.DuckDBPyConnection,
    run: RunKey,
    attempts: Sequence[FetchAttempt],
    keys: dict[str, str],
) -> None:
    rows = [
        {
            "id": uuid.uuid4().int >> 65,  # no sequence: writers on DuckLake share no counter
            "run_id": run.run_id,
            "attempt": run.attempt,
            "source_id": a.source_id,
            "url": a.url,
            "outcome": str(a.outcome),
            "http_status": a.http_status,
            "error": a.error,
            "attempted_at": _utc(a.attempted_at),
            "raw_sha256": keys.get(a.url) if a.text is not None else None,
            "kind": str(a.kind),
        }
        for a in attempts
    ]
    with registered(conn, log_rows=pa.Table.from_pylist(rows, _LOG_SCHEMA)):
        conn.execute("INSERT INTO fetch_log BY NAME SELECT * FROM log_rows")


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
        "translation_status": str(
            translation.status if translation else TranslationStatus.PENDING_MODEL
        ),
        "translation_model": translation.model if translation else None,
        "translation_error": translation.error if translation else None,
        "raw_sha256": raw_sha256,
        "duplicate_of": duplicate_of,
        "declared_canonical": article.declared_canonical,
        "attribution": article.attribution,
        "attribution_url": article.attribution_url,
        "disclaimer": str(article.disclaimer) if article.disclaimer else None,
        "published_source": str(article.published_source),
        "charset": article.charset.name if article.charset else None,
        "charset_source": str(article.charset.source) if article.charset else None,
    }
