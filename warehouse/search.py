"""Full-text search over original and English text with DuckDB's fts extension, offline.

DuckDB cannot download extensions here, so the extension comes from the installed
duckdb-extension-fts package. The index is a snapshot: refresh_index() rebuilds it after loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import duckdb

# Words are runs of letters or digits in any script (fts' default keeps only a-z).
_IGNORE = r"(\.|[^\p{L}\p{N}])+"
_INDEXED = ("title", "text", "title_en", "text_en")


class NoSearchIndex(RuntimeError):
    """The warehouse has no search index yet: nothing has been loaded."""


@dataclass(frozen=True)
class Hit:
    """One search result: a story and how well it matched."""

    score: float
    url: str
    source_id: str
    source_name: str | None
    day: date | None
    language: str
    title_en: str | None


@cache
def extension_path() -> Path:
    """The fts extension file shipped inside the duckdb-extension-fts package."""
    spec = find_spec("duckdb_extension_fts")
    roots = spec.submodule_search_locations if spec else None
    found = sorted(p for root in roots or [] for p in Path(root).rglob("fts.duckdb_extension"))
    if not found:
        raise RuntimeError("the fts extension is missing: pip install duckdb-extension-fts")
    return found[-1]


def load_fts(conn: duckdb.DuckDBPyConnection) -> None:
    """Install the bundled fts extension from its file and load it (no network)."""
    conn.execute(f"INSTALL '{extension_path()}'")
    conn.execute("LOAD fts")


def refresh_index(conn: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the index over every article's original and English title and text."""
    load_fts(conn)
    columns = ", ".join(f"'{c}'" for c in _INDEXED)
    conn.execute(
        f"PRAGMA create_fts_index('articles', 'url', {columns}, "
        f"stemmer='porter', ignore='{_IGNORE}', overwrite=1)"
    )


def search(
    conn: duckdb.DuckDBPyConnection,
    query: str,
    since: date | None = None,
    source_id: str | None = None,
    language: str | None = None,
    limit: int = 20,
) -> list[Hit]:
    """Stories matching the query, best first (BM25), filtered by day, source and language."""
    load_fts(conn)
    if not _has_index(conn):
        raise NoSearchIndex("no search index yet: load articles first (newsflow ingest)")
    rows = conn.execute(
        """
        SELECT score, url, source_id, source_name, day, language, title_en FROM (
            SELECT fts_main_articles.match_bm25(e.url, $query) AS score, e.url, e.source_id,
                   e.source_name,
                   CAST(timezone('UTC', coalesce(e.published_at, e.fetched_at)) AS DATE) AS day,
                   e.language, e.title_en
            FROM articles_en e
        )
        WHERE score IS NOT NULL
          AND ($since IS NULL OR day >= $since)
          AND ($source IS NULL OR source_id = $source)
          AND ($lang IS NULL OR language = $lang)
        ORDER BY score DESC, url
        LIMIT $limit
        """,
        {"query": query, "since": since, "source": source_id, "lang": language, "limit": limit},
    ).fetchall()
    return [Hit(*row) for row in rows]


def _has_index(conn: duckdb.DuckDBPyConnection) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'fts_main_articles'"
    ).fetchone()
    return bool(row and row[0])


def format_hit(hit: Hit) -> str:
    """One line per hit: score, day, source, language, English title, URL."""
    day = hit.day.isoformat() if hit.day else "?"
    title = hit.title_en or "(no English title yet)"
    return f"{hit.score:6.2f}  {day}  {hit.source_id:<16} {hit.language:<3} {title}  <{hit.url}>"
