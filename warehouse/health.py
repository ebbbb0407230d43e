"""Source health: a canary per source, re-extracted from the raw archive (no refetch).

Parsers break silently when a site's layout changes, or when a cleanup rule is changed: the
text shrinks, the date or title is gone, and nothing fails. Like Fundus' daily parse check,
maintenance re-extracts each source's latest good article with today's parser and cleanup
rules and compares it with what was stored. Results go to canary_checks; the source_health
view (migration 0011) shows each source's latest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import duckdb
import pyarrow as pa
import zstandard

from connectors.config import Source
from processing.language import UNDETERMINED
from processing.page import PageResult, process_page
from warehouse.sql import registered, transaction

log = logging.getLogger("newsflow.health")

SHRINK = 0.5  # flagged when today's text is under half of the stored one
MIN_GOOD_CHARS = 300  # a stored article with a title and this much text is a good canary


class CanaryStatus(StrEnum):
    """What a canary said about its source."""

    OK = "ok"
    CHANGED = "changed"  # the source is flagged: its pages no longer extract as they did


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


def latest_good(conn: duckdb.DuckDBPyConnection) -> list[Canary]:
    """Each source's newest article with a title, enough text and an archived body."""
    rows = conn.execute(
        """
        SELECT a.source_id, a.url, r.body, a.fetched_at, f.listed_published_at, a.title,
               a.published_at, a.language, length(a.text)
        FROM articles a
        JOIN raw_archive r ON r.sha256 = a.raw_sha256
        LEFT JOIN frontier f ON f.url = a.url
        WHERE a.duplicate_of IS NULL AND coalesce(a.title, '') <> ''
          AND length(a.text) >= $min_chars
        QUALIFY row_number() OVER (PARTITION BY a.source_id ORDER BY a.fetched_at DESC, a.url) = 1
        ORDER BY a.source_id
        """,
        {"min_chars": MIN_GOOD_CHARS},
    ).fetchall()
    decompressor = zstandard.ZstdDecompressor()
    return [
        Canary(source, url, decompressor.decompress(body).decode("utf-8"), *rest)
        for source, url, body, *rest in rows
    ]


def judge(canary: Canary, result: PageResult, now: datetime) -> CanaryCheck:
    """Compare today's extraction of the canary's page with what was stored."""
    article = result.article
    if article is None:
        reason = f"no longer extracts ({result.outcome}: {result.error})"
        return CanaryCheck(
            canary.source_id, canary.url, CanaryStatus.CHANGED, now, canary.stored_chars, None,
            reason=reason,
        )  # fmt: skip
    chars = len(article.text)
    lost = tuple(
        name
        for name, before, after in (
            ("title", canary.title, article.title),
            ("published_at", canary.published_at, article.published_at),
            ("language", _known(canary.language), _known(article.language)),
        )
        if before and not after
    )
    reasons = [f"lost {', '.join(lost)}"] if lost else []
    if chars < SHRINK * canary.stored_chars:
        reasons.insert(0, f"text shrank from {canary.stored_chars} to {chars} characters")
    status = CanaryStatus.CHANGED if reasons else CanaryStatus.OK
    reason = "; ".join(reasons) or None
    return CanaryCheck(
        canary.source_id, canary.url, status, now, canary.stored_chars, chars, lost, reason
    )


def check_canaries(
    conn: duckdb.DuckDBPyConnection, sources: Mapping[str, Source], now: datetime
) -> list[CanaryCheck]:
    """Re-extract every configured source's canary, record the verdicts, and return them."""
    checks = []
    for canary in latest_good(conn):
        source = sources.get(canary.source_id)
        if source is None:
            log.info("%s: no canary, the source is no longer configured", canary.source_id)
            continue
        result = process_page(
            source, canary.url, canary.html, None, canary.fetched_at, listed_at=canary.listed_at
        )
        checks.append(judge(canary, result, now))
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
