"""Translation state in the warehouse: pending articles, the translation cache, paragraphs."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from processing.models import ModelInfo
from processing.records import Translation
from warehouse.sql import merge, registered, transaction, url_table
from warehouse.stories import assign_stories

_PARAGRAPH_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("position", pa.int32()),
        ("text", pa.string()),
        ("text_en", pa.string()),
        ("language", pa.string()),
        ("model", pa.string()),
    ]
)


@dataclass(frozen=True)
class PendingArticle:
    """An article stored without English because its language had no model then."""

    url: str
    language: str
    title: str | None
    text: str


def text_hash(text: str) -> str:
    """The cache key of a source text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cached(
    conn: duckdb.DuckDBPyConnection, model: ModelInfo, texts: Sequence[str]
) -> dict[str, str]:
    """English of those texts that this model (name and version) translated before."""
    hashes = {text_hash(t): t for t in texts}
    candidates = pa.table({"source_hash": pa.array(list(hashes), pa.string())})
    with registered(conn, candidates=candidates):
        rows = conn.execute(
            "SELECT c.source_hash, t.text_en FROM translation_cache t "
            "JOIN candidates c USING (source_hash) WHERE t.model = ? AND t.model_version = ?",
            [model.name, model.version],
        ).fetchall()
    return {hashes[h]: english for h, english in rows}


def remember(
    conn: duckdb.DuckDBPyConnection, model: ModelInfo, translations: Mapping[str, str]
) -> None:
    """Add new translations to the cache (a text already there keeps its first English)."""
    now = datetime.now(UTC)
    rows = pa.Table.from_pylist(
        [
            {
                "source_hash": text_hash(text),
                "model": model.name,
                "model_version": model.version,
                "text_en": english,
                "created_at": now,
            }
            for text, english in translations.items()
        ]
    )
    merge(conn, "translation_cache", rows, ["source_hash", "model", "model_version"], False)


def count_pending(conn: duckdb.DuckDBPyConnection, languages: Iterable[str]) -> int:
    """How many articles in these languages wait for a model."""
    row = conn.execute(
        "SELECT count(*) FROM articles WHERE translation_status = 'pending_model' "
        "AND list_contains(?, language)",
        [sorted(languages)],
    ).fetchone()
    return int(row[0]) if row else 0


def pending_articles(
    conn: duckdb.DuckDBPyConnection, languages: Iterable[str], after: str = "", limit: int = 200
) -> list[PendingArticle]:
    """The next pending articles in these languages, in URL order after `after` (keyset paging)."""
    rows = conn.execute(
        "SELECT url, language, title, text FROM articles "
        "WHERE translation_status = 'pending_model' AND list_contains(?, language) AND url > ? "
        "ORDER BY url LIMIT ?",
        [sorted(languages), after, limit],
    ).fetchall()
    return [PendingArticle(*row) for row in rows]


def still_pending(conn: duckdb.DuckDBPyConnection, urls: Sequence[str]) -> list[PendingArticle]:
    """Those of these articles that still wait for a model (another run may have done the rest)."""
    wanted = url_table(urls)
    with registered(conn, wanted=wanted):
        rows = conn.execute(
            "SELECT url, language, title, text FROM articles JOIN wanted USING (url) "
            "WHERE translation_status = 'pending_model' ORDER BY url"
        ).fetchall()
    return [PendingArticle(*row) for row in rows]


def save_translations(
    conn: duckdb.DuckDBPyConnection, results: Sequence[tuple[str, Translation]]
) -> None:
    """Record the English and provenance of articles that were pending, with their paragraphs.

    Only articles still pending are changed; all or nothing. The stories of the articles whose
    English changed are recomputed here, in the same transaction: every path that stores a
    translation (the backlog, a re-translation) passes through this function.
    """
    rows = pa.Table.from_pylist(
        [
            {
                "url": url,
                "title_en": t.title_en,
                "text_en": t.text_en,
                "translation_status": str(t.status),
                "translation_model": t.model,
                "translation_error": t.error,
            }
            for url, t in results
        ],
        pa.schema([(name, pa.string()) for name in _UPDATED_COLUMNS]),
    )
    with transaction(conn), registered(conn, translated=rows):
        # the keys first: DuckLake has no UPDATE ... RETURNING
        updated = {
            url
            for (url,) in conn.execute(
                "SELECT url FROM articles JOIN translated USING (url) "
                "WHERE articles.translation_status = 'pending_model'"
            ).fetchall()
        }
        conn.execute(
            "UPDATE articles SET title_en = t.title_en, text_en = t.text_en, "
            "translation_status = t.translation_status, "
            "translation_model = t.translation_model, "
            "translation_error = t.translation_error "
            "FROM translated t WHERE articles.url = t.url "
            "AND articles.translation_status = 'pending_model'"
        )
        save_paragraphs(conn, [(url, t) for url, t in results if url in updated])
        assign_stories(conn)


def save_paragraphs(
    conn: duckdb.DuckDBPyConnection, translated: Iterable[tuple[str, Translation | None]]
) -> None:
    """Replace the paragraph alignment of these articles (in the caller's transaction)."""
    rows = [
        {
            "url": url,
            "position": p.position,
            "text": p.text,
            "text_en": p.text_en,
            "language": p.language,
            "model": p.model,
        }
        for url, t in dict(reversed(list(translated))).items()  # first one per URL
        if t is not None
        for p in t.paragraphs
    ]
    if not rows:
        return
    with registered(conn, new_paragraphs=pa.Table.from_pylist(rows, _PARAGRAPH_SCHEMA)):
        conn.execute("DELETE FROM paragraphs WHERE url IN (SELECT url FROM new_paragraphs)")
        conn.execute("INSERT INTO paragraphs BY NAME SELECT * FROM new_paragraphs")


_UPDATED_COLUMNS = (
    "url",
    "title_en",
    "text_en",
    "translation_status",
    "translation_model",
    "translation_error",
)
