"""What the daily digest and the side-by-side reader show, read from the warehouse.

A day is a UTC day, and an article belongs to the day newsflow fetched it: the digest answers
"what arrived", whatever date the publisher printed. Everything here only reads, so it works on
the locked-down analysis connection.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from connectors.records import FAILURES
from warehouse.sql import registered, url_table

CHART_DAYS = 30
# where an article came from, as processing/boilerplate.py sets it apart from the text
PROVENANCE = ("attribution", "attribution_url", "disclaimer")
MEDIAN_DAYS = 14


class TitleKind(enum.StrEnum):
    """Where a story's English title comes from."""

    PUBLISHER = "publisher"  # an English edition's own title
    MACHINE = "machine"  # a model's translation
    ORIGINAL = "original"  # no English yet: the original title


@dataclass(frozen=True)
class Member:
    """One article that told a story."""

    url: str
    source_id: str
    source_name: str
    language: str
    title: str | None
    title_en: str | None
    translation_model: str | None
    fetched_at: datetime


@dataclass(frozen=True)
class Story:
    """One story cluster with an article that arrived on the digest's day."""

    cluster_id: int | None
    title: str
    title_kind: TitleKind
    title_model: str | None
    members: tuple[Member, ...]  # first seen first

    @property
    def sources(self) -> list[str]:
        """Source ids in the order they told it."""
        return list(dict.fromkeys(m.source_id for m in self.members))

    @property
    def languages(self) -> list[str]:
        """Languages in the order they told it."""
        return list(dict.fromkeys(m.language for m in self.members))


@dataclass(frozen=True)
class SeriesPoint:
    """Articles of one series (source, or source and language) on one day."""

    series: str
    day: date
    articles: int
    median: float | None = None  # of the MEDIAN_DAYS days before, for the volume chart


@dataclass(frozen=True)
class Digest:
    """Everything one day's digest page shows."""

    day: date
    stories: list[Story]
    by_source_language: list[SeriesPoint]  # CHART_DAYS days up to day, zero days included
    volume: list[SeriesPoint]  # per source, with the median of the MEDIAN_DAYS days before
    pending: list[tuple[str, int]]  # language, articles waiting for a model
    failures: dict[str, dict[str, int]]  # source -> failure outcome -> URLs, on the day


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of an article beside its English."""

    position: int
    text: str
    text_en: str | None
    language: str | None
    model: str | None  # None where the paragraph was English already, or not translated


@dataclass(frozen=True)
class Reading:
    """An article as the side-by-side reader shows it."""

    url: str
    source_id: str
    source_name: str
    language: str
    title: str | None
    title_en: str | None
    published_at: datetime | None
    fetched_at: datetime
    translation_status: str
    translation_model: str | None
    attribution: dict[str, str]  # the PROVENANCE columns that are set
    paragraphs: list[Paragraph]


def digest(conn: duckdb.DuckDBPyConnection, day: date) -> Digest:
    """The digest of one UTC day."""
    return Digest(
        day=day,
        stories=stories(conn, day),
        by_source_language=_series(conn, day, "source_id || ' · ' || language"),
        volume=_volume(conn, day),
        pending=[
            (language, count)
            for language, count in conn.execute(
                "SELECT language, count(*) FROM articles WHERE translation_status = "
                "'pending_model' GROUP BY 1 ORDER BY 2 DESC, 1"
            ).fetchall()
        ],
        failures=_failures(conn, day),
    )


def reader_fingerprints(conn: duckdb.DuckDBPyConnection, urls: Sequence[str]) -> dict[str, str]:
    """Per article, a hash of what its reader page shows: text, title, translation, credits.

    A daily run rewrites only the reader pages whose hash moved, so its cost follows the
    articles it added or changed, not all the articles of the day.
    """
    credits = "".join(f", a.{column}" for column in _attribution_columns(conn))
    with registered(conn, wanted=url_table(urls)):
        return dict(
            conn.execute(
                f"SELECT a.url, md5(concat_ws('|', a.url, a.content_hash, a.title, a.title_en, "
                f"a.published_at, a.translation_status, a.translation_model, s.name{credits})) "
                "FROM articles a LEFT JOIN sources s ON s.id = a.source_id "
                "WHERE a.url IN (SELECT url FROM wanted)"
            ).fetchall()
        )


def digest_fingerprint(day_digest: Digest, readers: Mapping[str, str]) -> str:
    """What a day's pages are made of: the digest itself and its articles' reader hashes."""
    articles = "\n".join(f"{url}|{readers[url]}" for url in sorted(readers))
    return hashlib.sha256(f"{day_digest!r}\n{articles}".encode()).hexdigest()


def stories(conn: duckdb.DuckDBPyConnection, day: date) -> list[Story]:
    """The stories with an article fetched on day, told by most sources and languages first."""
    rows = conn.execute(
        """
        WITH members AS (
            SELECT e.cluster_id, coalesce(e.cluster_id::VARCHAR, e.url) AS story, e.url,
                   e.source_id, coalesce(e.source_name, e.source_id) AS source_name, e.language,
                   e.title_original, a.title_en, a.translation_model, e.fetched_at
            FROM articles_en e JOIN articles a USING (url)
        ),
        today AS (
            SELECT DISTINCT story FROM members
            WHERE CAST(timezone('UTC', fetched_at) AS DATE) = $day
        )
        SELECT m.* EXCLUDE (story),
               count(DISTINCT source_id) OVER (PARTITION BY story) AS n_sources,
               count(DISTINCT language) OVER (PARTITION BY story) AS n_languages,
               count(*) OVER (PARTITION BY story) AS n_articles,
               max(fetched_at) OVER (PARTITION BY story) AS latest,
               story
        FROM members m JOIN today USING (story)
        ORDER BY n_sources DESC, n_languages DESC, n_articles DESC, latest DESC, story,
                 fetched_at, url
        """,
        {"day": day},
    ).fetchall()
    grouped: dict[str, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(row[-1], []).append(row)
    return [_story(group) for group in grouped.values()]


def _story(rows: Sequence[tuple]) -> Story:
    members = tuple(Member(*row[1:9]) for row in rows)
    english = next((m for m in members if m.language == "en" and m.title), None)
    translated = next((m for m in members if m.title_en and m.translation_model), None)
    if english is not None:
        title, kind, model = english.title or "", TitleKind.PUBLISHER, None
    elif translated is not None:
        title, kind = translated.title_en or "", TitleKind.MACHINE
        model = translated.translation_model
    else:
        title, kind, model = members[0].title or members[0].url, TitleKind.ORIGINAL, None
    return Story(rows[0][0], title, kind, model, members)


def _series(conn: duckdb.DuckDBPyConnection, day: date, series: str) -> list[SeriesPoint]:
    """Articles per day and series over the CHART_DAYS days up to day, zero days included."""
    first = day - timedelta(days=CHART_DAYS - 1)
    rows = conn.execute(
        f"""
        WITH counts AS (
            SELECT {series} AS series, CAST(timezone('UTC', fetched_at) AS DATE) AS day,
                   count(*) AS articles
            FROM articles_en GROUP BY ALL
        ),
        names AS (SELECT DISTINCT series FROM counts WHERE day BETWEEN $first AND $day),
        days AS (SELECT CAST(d AS DATE) AS day FROM range($first, $day + 1, INTERVAL 1 DAY) t(d))
        SELECT n.series, d.day, coalesce(c.articles, 0)
        FROM names n CROSS JOIN days d LEFT JOIN counts c USING (series, day)
        ORDER BY n.series, d.day
        """,
        {"first": first, "day": day},
    ).fetchall()
    return [SeriesPoint(*row) for row in rows]


def _volume(conn: duckdb.DuckDBPyConnection, day: date) -> list[SeriesPoint]:
    """Per configured source, daily articles and the median of the MEDIAN_DAYS days before."""
    first = day - timedelta(days=CHART_DAYS - 1)
    rows = conn.execute(
        """
        WITH counts AS (
            SELECT source_id, CAST(timezone('UTC', fetched_at) AS DATE) AS day,
                   count(*) AS articles
            FROM articles_en GROUP BY ALL
        ),
        days AS (
            SELECT CAST(d AS DATE) AS day
            FROM range($first - $median_days, $day + 1, INTERVAL 1 DAY) t(d)
        ),
        filled AS (
            SELECT s.id AS source_id, d.day, coalesce(c.articles, 0) AS articles
            FROM sources s CROSS JOIN days d
            LEFT JOIN counts c ON c.source_id = s.id AND c.day = d.day
        ),
        medians AS (
            SELECT *, median(articles) OVER (
                PARTITION BY source_id ORDER BY day
                ROWS BETWEEN $median_days PRECEDING AND 1 PRECEDING
            ) AS median
            FROM filled
        )
        SELECT source_id, day, articles, median FROM medians
        WHERE day >= $first ORDER BY source_id, day
        """,
        {"first": first, "day": day, "median_days": MEDIAN_DAYS},
    ).fetchall()
    return [SeriesPoint(*row) for row in rows]


def _failures(conn: duckdb.DuckDBPyConnection, day: date) -> dict[str, dict[str, int]]:
    rows = conn.execute(
        """
        SELECT source_id, outcome, count(DISTINCT url) FROM fetch_log
        WHERE CAST(timezone('UTC', attempted_at) AS DATE) = $day
          AND list_contains($failures, outcome)
        GROUP BY ALL ORDER BY 1, 3 DESC, 2
        """,
        {"day": day, "failures": list(FAILURES)},
    ).fetchall()
    failures: dict[str, dict[str, int]] = {}
    for source_id, outcome, count in rows:
        failures.setdefault(source_id, {})[outcome] = count
    return failures


def reading(conn: duckdb.DuckDBPyConnection, url: str) -> Reading:
    """One article, found by its URL or any URL that led to it (a redirect, an alias)."""
    found = conn.execute(
        "SELECT url FROM articles WHERE url = $url "
        "UNION ALL SELECT article_url FROM article_urls WHERE url = $url LIMIT 1",
        {"url": url},
    ).fetchone()
    if found is None:
        raise LookupError(f"no article in the warehouse for {url}")
    return readings(conn, [found[0]])[0]


def readings(conn: duckdb.DuckDBPyConnection, urls: Sequence[str]) -> list[Reading]:
    """Stored articles paragraph by paragraph, in two queries whatever their number.

    Translated articles read from `paragraphs`; the others (English ones, those waiting for a
    model, or translated before `paragraphs` existed) pair the lines of text and text_en.
    """
    provenance = _attribution_columns(conn)
    extra = "".join(f", a.{column}" for column in provenance)
    with registered(conn, wanted=url_table(urls)):
        rows = conn.execute(
            f"""
            SELECT a.url, a.source_id, coalesce(s.name, a.source_id), a.language, a.title,
                   a.title_en, a.published_at, a.fetched_at, a.translation_status,
                   a.translation_model, a.text, a.text_en{extra}
            FROM articles a LEFT JOIN sources s ON s.id = a.source_id
            WHERE a.url IN (SELECT url FROM wanted)
            """
        ).fetchall()
        paragraphs = conn.execute(
            "SELECT url, position, text, text_en, language, model FROM paragraphs "
            "WHERE url IN (SELECT url FROM wanted) ORDER BY url, position"
        ).fetchall()
    stored: dict[str, list[Paragraph]] = {}
    for url, *paragraph in paragraphs:
        stored.setdefault(url, []).append(Paragraph(*paragraph))
    by_url = {}
    for row in rows:
        credits = {
            column: str(value)
            for column, value in zip(provenance, row[12:], strict=True)
            if value not in (None, "")
        }
        paragraphs = stored.get(row[0]) or _paired(row[10], row[11], row[3])
        by_url[row[0]] = Reading(*row[:10], attribution=credits, paragraphs=paragraphs)
    return [by_url[url] for url in urls if url in by_url]


def _paired(text: str, text_en: str | None, language: str) -> list[Paragraph]:
    """Paragraphs from the article's own columns: text_en has the same lines as text."""
    lines = text.split("\n")
    english = (text_en or (text if language == "en" else "")).split("\n")
    paired = len(english) == len(lines)
    return [
        Paragraph(i, line, (english[i] or None) if paired else None, language, None)
        for i, line in enumerate(lines)
        if line.strip()
    ]


def _attribution_columns(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """The articles table's provenance columns (migration 0009), those the file has."""
    present = {
        name
        for (name,) in conn.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'articles'"
        ).fetchall()
    }
    return [column for column in PROVENANCE if column in present]
