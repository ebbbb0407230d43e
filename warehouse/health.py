"""Source health: a canary per source, re-extracted from the raw archive (no refetch).

Parsers break silently when a site's layout changes, or when a cleanup rule is changed: the
text shrinks, the date or title is gone, and nothing fails. Like Fundus' daily parse check,
maintenance re-extracts each source's latest good article with today's parser and cleanup
rules and compares it with what was stored (a change of rules or parser). It also compares the
source's newest articles with the ones before them (a change of the site's layout, which its
newest pages were extracted under). Results go to canary_checks; the source_health view
(migration 0011) shows each source's latest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import duckdb
import pyarrow as pa

from connectors.config import Source
from processing.language import UNDETERMINED
from processing.page import PageResult, process_page
from warehouse.archive import read_bodies
from warehouse.sql import registered, transaction

log = logging.getLogger("newsflow.health")

SHRINK = 0.5  # flagged when today's text is under half of the stored one
MIN_GOOD_CHARS = 300  # a stored article with a title and this much text is a good canary,
GOOD_SHARE = 0.5  # or, at a source of short texts, this share of its median text length
RECENT = 5  # the newest articles of a source, compared with
USUAL = 20  # the ones before them,
MIN_USUAL = 10  # when there are at least this many
USUAL_SHARE = 0.8  # a field most of those had, and none of the newest has, is lost
FIELDS = ("title", "published_at", "language")


class CanaryStatus(StrEnum):
    """What a canary said about its source."""

    OK = "ok"
    CHANGED = "changed"  # the source is flagged: its pages no longer extract as they did
    NONE = "none"  # no canary to check yet: said so, never skipped silently


@dataclass(frozen=True)
class Canary:
    """A source's latest good article as stored, with the archived body it came from."""

    source_id: str
    url: str
    html: str
    fetched_at: datetime
    listed_at: datetime | None  # the listing's publication time, which process_page falls back on
    title: str | None
    published_at: datetime | None
    language: str
    stored_chars: int


@dataclass(frozen=True)
class CanaryCheck:
    """One canary's verdict: OK, or CHANGED with what shrank or went missing."""

    source_id: str
    url: str
    status: CanaryStatus
    checked_at: datetime
    stored_chars: int
    extracted_chars: int | None  # None: it no longer extracts at all
    lost: tuple[str, ...] = ()  # title, published_at, language: stored, no longer found
    reason: str | None = None


@dataclass(frozen=True)
class Trend:
    """A source's newest articles against the ones before them, as stored."""

    source_id: str
    recent_chars: float  # median text length of the RECENT newest
    usual_chars: float  # of the USUAL before them
    usual_count: int
    recent_share: Mapping[str, float]  # field -> share of the newest that have it
    usual_share: Mapping[str, float]


def latest_good(conn: duckdb.DuckDBPyConnection) -> list[Canary]:
    """Each source's newest article with a title, enough text and an archived body.

    Enough text is MIN_GOOD_CHARS, or less at a source whose texts are short (reposts of a few
    lines): GOOD_SHARE of its own median, so that such a source has a canary too.
    """
    rows = conn.execute(
        """
        WITH usual AS (
            SELECT source_id, median(length(text)) AS chars
            FROM articles
            WHERE duplicate_of IS NULL AND coalesce(title, '') <> ''
            GROUP BY source_id
        )
        SELECT a.source_id, a.url, r.sha256, a.fetched_at, f.listed_published_at, a.title,
               a.published_at, a.language, length(a.text)
        FROM articles a
        JOIN usual u ON u.source_id = a.source_id
        JOIN raw_archive r ON r.sha256 = a.raw_sha256
        LEFT JOIN frontier f ON f.url = a.url
        WHERE a.duplicate_of IS NULL AND coalesce(a.title, '') <> ''
          AND length(a.text) >= greatest(1, least($min_chars, $share * u.chars))
        QUALIFY row_number() OVER (PARTITION BY a.source_id ORDER BY a.fetched_at DESC, a.url) = 1
        ORDER BY a.source_id
        """,
        {"min_chars": MIN_GOOD_CHARS, "share": GOOD_SHARE},
    ).fetchall()
    bodies = read_bodies(conn, [sha256 for _, _, sha256, *_ in rows])
    return [
        Canary(source, url, body, *rest)
        for (source, url, _, *rest), body in zip(rows, bodies, strict=True)
    ]


def trends(conn: duckdb.DuckDBPyConnection) -> dict[str, Trend]:
    """Per source with enough history: its RECENT newest articles against the USUAL before."""
    rows = conn.execute(
        """
        WITH ranked AS (
            SELECT source_id, length(text) AS chars, coalesce(title, '') <> '' AS title,
                   published_at IS NOT NULL AS published_at, language <> $und AS language,
                   row_number() OVER (PARTITION BY source_id ORDER BY fetched_at DESC, url) AS n
            FROM articles WHERE duplicate_of IS NULL
        )
        SELECT source_id, n > $recent AS usual, median(chars), count(*), avg(title::INT),
               avg(published_at::INT), avg(language::INT)
        FROM ranked WHERE n <= $recent + $usual GROUP BY ALL ORDER BY ALL
        """,
        {"und": UNDETERMINED, "recent": RECENT, "usual": USUAL},
    ).fetchall()
    groups: dict[str, dict[bool, tuple]] = {}
    for source_id, usual, *figures in rows:
        groups.setdefault(source_id, {})[usual] = tuple(figures)
    return {
        source_id: Trend(
            source_id,
            recent[0],
            usual[0],
            usual[1],
            dict(zip(FIELDS, recent[2:], strict=True)),
            dict(zip(FIELDS, usual[2:], strict=True)),
        )
        for source_id, parts in groups.items()
        if (recent := parts.get(False)) and (usual := parts.get(True)) and usual[1] >= MIN_USUAL
    }


def judge(
    canary: Canary, result: PageResult, now: datetime, trend: Trend | None = None
) -> CanaryCheck:
    """Today's extraction of the canary's page against what was stored, and the source's
    newest articles against the ones before them."""
    article = result.article
    reasons: list[str] = []
    lost: list[str] = []
    if article is None:
        reasons.append(f"no longer extracts ({result.outcome}: {result.error})")
    else:
        if len(article.text) < SHRINK * canary.stored_chars:
            reasons.append(
                f"text shrank from {canary.stored_chars} to {len(article.text)} characters"
            )
        lost = [
            name
            for name, before, after in (
                ("title", canary.title, article.title),
                ("published_at", canary.published_at, article.published_at),
                ("language", _known(canary.language), _known(article.language)),
            )
            if before and not after
        ]
        if lost:
            reasons.append(f"lost {', '.join(lost)}")
    if trend is not None:
        reasons += _trend_reasons(trend)
        lost += [name for name in FIELDS if _lost(trend, name) and name not in lost]
    return CanaryCheck(
        canary.source_id,
        canary.url,
        CanaryStatus.CHANGED if reasons else CanaryStatus.OK,
        now,
        canary.stored_chars,
        len(article.text) if article else None,
        tuple(lost),
        "; ".join(reasons) or None,
    )


def _trend_reasons(trend: Trend) -> list[str]:
    """Why the newest articles look like a new layout: much shorter, or a field gone."""
    reasons = []
    if trend.recent_chars < SHRINK * trend.usual_chars:
        reasons.append(
            f"its last {RECENT} articles have a median of {trend.recent_chars:g} characters, "
            f"under half of the {trend.usual_count} before them ({trend.usual_chars:g})"
        )
    lost = [name for name in FIELDS if _lost(trend, name)]
    if lost:
        reasons.append(
            f"none of its last {RECENT} articles has {', '.join(lost)}, "
            f"which the {trend.usual_count} before them had"
        )
    return reasons


def _lost(trend: Trend, name: str) -> bool:
    return trend.recent_share[name] == 0 and trend.usual_share[name] >= USUAL_SHARE


def check_canaries(
    conn: duckdb.DuckDBPyConnection, sources: Mapping[str, Source], now: datetime
) -> list[CanaryCheck]:
    """Re-extract every configured source's canary, record the verdicts, and return them.

    A configured source with no canary yet gets a NONE verdict saying why, not silence.
    """
    checks = []
    recent = trends(conn)
    canaries = latest_good(conn)
    for source_id in sorted(set(sources) - {c.source_id for c in canaries}):
        reason = "no canary: no stored article with a title, text and its archived page yet"
        log.warning("%s: %s", source_id, reason)
        checks.append(CanaryCheck(source_id, "", CanaryStatus.NONE, now, 0, None, (), reason))
    for canary in canaries:
        source = sources.get(canary.source_id)
        if source is None:
            log.info("%s: no canary, the source is no longer configured", canary.source_id)
            continue
        result = process_page(
            source, canary.url, canary.html, None, canary.fetched_at, listed_at=canary.listed_at
        )
        checks.append(judge(canary, result, now, recent.get(canary.source_id)))
    record(conn, checks)
    return checks


_CHECK_SCHEMA = pa.schema(
    [
        ("checked_at", pa.timestamp("us", tz="UTC")),
        ("source_id", pa.string()),
        ("url", pa.string()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("stored_chars", pa.int32()),
        ("extracted_chars", pa.int32()),
        ("lost", pa.list_(pa.string())),
    ]
)


def record(conn: duckdb.DuckDBPyConnection, checks: Sequence[CanaryCheck]) -> None:
    """Append the verdicts to canary_checks (its history is kept: when did a source break?)."""
    rows = pa.Table.from_pylist(
        [
            {
                "checked_at": c.checked_at,
                "source_id": c.source_id,
                "url": c.url,
                "status": str(c.status),
                "reason": c.reason,
                "stored_chars": c.stored_chars,
                "extracted_chars": c.extracted_chars,
                "lost": list(c.lost),
            }
            for c in checks
        ],
        _CHECK_SCHEMA,
    )
    with transaction(conn), registered(conn, checks=rows):
        conn.execute("INSERT INTO canary_checks BY NAME SELECT * FROM checks")


def _known(language: str | None) -> str | None:
    return None if language in (None, UNDETERMINED) else language
