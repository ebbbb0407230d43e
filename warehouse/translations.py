"""Translation state in the warehouse: pending articles, the translation cache, paragraphs,
and re-translation (articles whose language now uses another model; the old one's kept)."""

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
from warehouse.stories import assign_stories, queue_stories

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
            "JOIN candidates c USING (source_hash) "
            "WHERE t.engine = ? AND t.model = ? AND t.model_version = ?",
            [model.engine, model.cache_name, model.version],
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
                "engine": model.engine,
                "model": model.cache_name,
                "model_version": model.version,
                "text_en": english,
                "created_at": now,
            }
            for text, english in translations.items()
        ]
    )
    keys = ["source_hash", "engine", "model", "model_version"]
    merge(conn, "translation_cache", rows, keys, False)


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


def retranslatable(
    conn: duckdb.DuckDBPyConnection,
    routes: Mapping[str, str],
    after: str = "",
    limit: int = 200,
) -> list[PendingArticle]:
    """The next translated articles whose language now uses another model, by URL after `after`.

    routes: language → the model id (engine:name@version) that language uses now.
    """
    with registered(conn, routes=_routes_table(routes)):
        rows = conn.execute(
            "SELECT url, a.language, title, text FROM articles a JOIN routes r USING (language) "
            "WHERE translation_status = 'done' AND translation_model IS DISTINCT FROM r.model "
            "AND url > ? ORDER BY url LIMIT ?",
            [after, limit],
        ).fetchall()
    return [PendingArticle(*row) for row in rows]


def count_retranslatable(
    conn: duckdb.DuckDBPyConnection, routes: Mapping[str, str]
) -> dict[tuple[str, str], int]:
    """How many translated articles each (language, model that made them) would re-translate."""
    with registered(conn, routes=_routes_table(routes)):
        rows = conn.execute(
            "SELECT a.language, translation_model, count(*) FROM articles a "
            "JOIN routes r USING (language) WHERE translation_status = 'done' "
            "AND translation_model IS DISTINCT FROM r.model GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    return {(language, model): n for language, model, n in rows}


def _routes_table(routes: Mapping[str, str]) -> pa.Table:
    return pa.table(
        {
            "language": pa.array(list(routes), pa.string()),
            "model": pa.array(list(routes.values()), pa.string()),
        }
    )


def save_translations(
    conn: duckdb.DuckDBPyConnection,
    results: Sequence[tuple[str, Translation]],
    replacing: bool = False,
) -> list[str]:
    """Record the English and provenance of articles that were pending, with their paragraphs.

    Only articles still pending are changed, and with `replacing` also translated ones that a
    new translation by another model replaces (the old one goes to translation_history; a
    failed re-translation keeps it); all or nothing. Returns the URLs changed. The stories of
    the articles whose English changed are recomputed here, in the same transaction: every
    path that stores a translation (the backlog, a re-translation) passes through this.
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
        updated = [
            url
            for (url,) in conn.execute(
                "SELECT url FROM articles a JOIN translated t USING (url) "
                f"WHERE {_REPLACED if replacing else _PENDING} ORDER BY url"
            ).fetchall()
        ]
        with registered(conn, updated=url_table(updated)):
            conn.execute(
                "INSERT INTO translation_history SELECT a.url, a.title_en, a.text_en, "
                "a.translation_model, t.translation_model, now() FROM articles a "
                "JOIN translated t USING (url) WHERE a.url IN (SELECT url FROM updated) "
                "AND a.translation_status = 'done'"
            )
            conn.execute(
                "UPDATE articles SET title_en = t.title_en, text_en = t.text_en, "
                "translation_status = t.translation_status, "
                "translation_model = t.translation_model, "
                "translation_error = t.translation_error "
                "FROM translated t WHERE articles.url = t.url "
                "AND articles.url IN (SELECT url FROM updated)"
            )
        changed = set(updated)
        save_paragraphs(conn, [(url, t) for url, t in results if url in changed])
        queue_stories(conn, changed)
        assign_stories(conn)
    return updated


_PENDING = "a.translation_status = 'pending_model'"
# A re-translation replaces a translation made by another model, never with a failure.
_REPLACED = (
    f"({_PENDING} OR (a.translation_status = 'done' AND t.translation_status = 'done' "
    "AND a.translation_model IS DISTINCT FROM t.translation_model))"
)


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
