"""What a run did, per source, as the fetch log and the articles table say."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

# Outcomes that are neither success nor a deliberate skip: a later run tries these URLs again.
FAILURES = (
    "malformed",
    "http_error",
    "timeout",
    "empty",
    "not_html",
    "too_large",
    "network_error",
    "redirect_loop",
    "no_content",
    "crashed",
)


@dataclass(frozen=True)
class SourceReport:
    """One source in one run: the figures a run summary shows."""

    source_id: str
    fetched: int  # article pages requested
    new: int
    duplicate: int
    failed: int  # listings and articles
    translated: int
    listings_read: int  # feed, sitemap or API pages read (or unchanged since last run)
    listings_failed: int
    seconds: float  # first to last request to this source

    @property
    def source_failed(self) -> bool:
        """No listing could be read: the source gave us nothing this run."""
        return self.listings_read == 0 and self.listings_failed > 0


def run_report(conn: duckdb.DuckDBPyConnection, run_id: str) -> list[SourceReport]:
    """Per-source figures of one run, ordered by source."""
    rows = conn.execute(
        """
        SELECT
            l.source_id,
            count(*) FILTER (l.kind = 'article' AND l.outcome <> 'skipped'),
            count(*) FILTER (l.outcome = 'stored'),
            count(*) FILTER (l.outcome = 'duplicate'),
            count(*) FILTER (list_contains($failures, l.outcome)),
            count(*) FILTER (l.outcome = 'stored' AND a.translation_status = 'done'),
            count(*) FILTER (l.kind = 'listing' AND l.outcome IN ('listed', 'not_modified')),
            count(*) FILTER (l.kind = 'listing' AND l.outcome NOT IN ('listed', 'not_modified')),
            coalesce(epoch(max(l.attempted_at) - min(l.attempted_at)), 0)
        FROM fetch_log l LEFT JOIN articles a ON a.url = l.url
        WHERE l.run_id = $run_id
        GROUP BY l.source_id
        ORDER BY l.source_id
        """,
        {"run_id": run_id, "failures": list(FAILURES)},
    ).fetchall()
    return [SourceReport(*row) for row in rows]


def articles_report(
    conn: duckdb.DuckDBPyConnection, urls: list[str], seconds: float
) -> list[SourceReport]:
    """Per-source figures of a run that fetched nothing but (re)processed these stored articles.

    translated counts those now in English by a model, failed those whose translation failed.
    """
    rows = conn.execute(
        """
        SELECT source_id, 0, 0, 0,
               count(*) FILTER (translation_status = 'failed'),
               count(*) FILTER (translation_status = 'done'),
               0, 0, $seconds
        FROM articles WHERE url IN (SELECT unnest($urls))
        GROUP BY source_id ORDER BY source_id
        """,
        {"urls": urls, "seconds": seconds},
    ).fetchall()
    return [SourceReport(*row) for row in rows]
