"""What a run did, per source, as the fetch log and the articles table say."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

import duckdb

from connectors.records import FAILURES

# The vendor of a blocked URL, read back from its error ("blocked by <vendor>: <evidence>").
WALL_VENDOR_SQL = (
    r"coalesce(nullif(regexp_extract(error, 'blocked by ([a-z-]+)', 1), ''), 'unknown')"
)


EXAMPLES_PER_SOURCE = 3


@dataclass(frozen=True)
class FailureExample:
    """One failed URL of a run and why, so an operator can open it without writing SQL."""

    url: str
    outcome: str
    reason: str


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
    failures: Mapping[str, int] = field(default_factory=dict)  # failure outcome -> URLs
    examples: tuple[FailureExample, ...] = ()  # a few failed URLs with their reasons
    walls: Mapping[str, int] = field(default_factory=dict)  # bot wall vendor -> URLs blocked
    listings_blocked: int = 0  # listings a bot wall answered
    revised: int = 0  # stored articles a re-check found edited (kept in article_revisions)

    @property
    def walled_out(self) -> bool:
        """No listing could be read, and a bot wall is why (or part of why)."""
        return self.source_failed and self.listings_blocked > 0

    @property
    def attempted(self) -> int:
        """Article pages requested plus listings tried: the base of the failure share."""
        return self.fetched + self.listings_read + self.listings_failed

    @property
    def failed_share(self) -> float:
        """Failed listings and articles as a share of everything attempted (0 when idle)."""
        return self.failed / self.attempted if self.attempted else 0.0

    @property
    def source_failed(self) -> bool:
        """No listing could be read: the source gave us nothing this run."""
        return self.listings_read == 0 and self.listings_failed > 0


def run_report(
    conn: duckdb.DuckDBPyConnection, run_id: str, attempt: int = 1
) -> list[SourceReport]:
    """Per-source figures of one try of a run, ordered by source."""
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
            coalesce(epoch(max(l.attempted_at) - min(l.attempted_at)), 0),
            count(*) FILTER (l.outcome = 'revised')
        FROM fetch_log l LEFT JOIN articles a ON a.url = l.url
        WHERE l.run_id = $run_id AND l.attempt = $attempt
        GROUP BY l.source_id
        ORDER BY l.source_id
        """,
        {"run_id": run_id, "attempt": attempt, "failures": list(FAILURES)},
    ).fetchall()
    failures, examples = _failures(conn, run_id, attempt)
    walls = _walls(conn, run_id, attempt)
    return [
        replace(
            SourceReport(*row[:-1]),
            revised=row[-1],
            failures=failures.get(row[0], {}),
            examples=tuple(examples.get(row[0], [])[:EXAMPLES_PER_SOURCE]),
            walls=walls.get(row[0], ({}, 0))[0],
            listings_blocked=walls.get(row[0], ({}, 0))[1],
        )
        for row in rows
    ]


def _walls(
    conn: duckdb.DuckDBPyConnection, run_id: str, attempt: int
) -> dict[str, tuple[dict[str, int], int]]:
    """Per source: URLs blocked per bot wall vendor (most first), and listings among them."""
    rows = conn.execute(
        f"""
        SELECT source_id, {WALL_VENDOR_SQL} AS vendor, count(*),
               count(*) FILTER (kind = 'listing')
        FROM fetch_log
        WHERE run_id = $run_id AND attempt = $attempt AND outcome = 'blocked'
        GROUP BY ALL ORDER BY source_id, count(*) DESC, vendor
        """,
        {"run_id": run_id, "attempt": attempt},
    ).fetchall()
    walls: dict[str, tuple[dict[str, int], int]] = {}
    for source_id, vendor, count, listings in rows:
        vendors, blocked_listings = walls.get(source_id, ({}, 0))
        vendors[vendor] = count
        walls[source_id] = (vendors, blocked_listings + listings)
    return walls


def _failures(
    conn: duckdb.DuckDBPyConnection, run_id: str, attempt: int
) -> tuple[dict[str, dict[str, int]], dict[str, list[FailureExample]]]:
    """Per source: URLs per failure outcome (most frequent first) and a few failed URLs."""
    rows = conn.execute(
        """
        SELECT source_id, outcome, count(*),
               list(struct_pack(url := url, reason := coalesce(error, http_status::VARCHAR, ''))
                    ORDER BY attempted_at, url)[1:$examples]
        FROM fetch_log
        WHERE run_id = $run_id AND attempt = $attempt AND list_contains($failures, outcome)
        GROUP BY ALL ORDER BY source_id, count(*) DESC, outcome
        """,
        {
            "run_id": run_id,
            "attempt": attempt,
            "failures": list(FAILURES),
            "examples": EXAMPLES_PER_SOURCE,
        },
    ).fetchall()
    counts: dict[str, dict[str, int]] = {}
    examples: dict[str, list[FailureExample]] = {}
    for source_id, outcome, count, found in rows:
        counts.setdefault(source_id, {})[outcome] = count
        examples.setdefault(source_id, []).extend(
            FailureExample(e["url"], outcome, e["reason"]) for e in found
        )
    return counts, examples


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


def daily_volume(conn: duckdb.DuckDBPyConnection, since: datetime) -> dict[str, list[int]]:
    """New articles per source in each daily ingest run (no date window) since a moment.

    Newest run first; a run that read a source but stored nothing counts 0 for it.
    """
    rows = conn.execute(
        """
        SELECT l.source_id, list(new ORDER BY started_at DESC)
        FROM (
            SELECT l.source_id, r.started_at, count(*) FILTER (l.outcome = 'stored') AS new
            FROM runs r JOIN fetch_log l ON l.run_id = r.run_id AND l.attempt = r.attempt
            WHERE r.flow = 'ingest' AND r.started_at >= $since
              AND json_extract_string(r.parameters, '$.since') IS NULL
              AND json_extract_string(r.parameters, '$.until') IS NULL
            GROUP BY ALL
        ) l
        GROUP BY l.source_id
        """,
        {"since": since},
    ).fetchall()
    return dict(rows)
