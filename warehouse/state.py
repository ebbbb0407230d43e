"""What connectors remember between daily runs: listing validators and cursors.

(Which URLs to try again is the frontier's business: warehouse/frontier.py.)"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from connectors.records import FetchAttempt, Link, Validators


@dataclass(frozen=True)
class SourceState:
    """What the warehouse remembers of a source for its next daily run."""

    cursor: datetime | None = None
    validators: dict[str, Validators] = field(default_factory=dict)


def read(conn: duckdb.DuckDBPyConnection, source_id: str) -> SourceState:
    """A source's cursor and listing validators, in one go."""
    return SourceState(cursor(conn, source_id), validators(conn, source_id))


def validators(conn: duckdb.DuckDBPyConnection, source_id: str) -> dict[str, Validators]:
    """ETag/Last-Modified per listing URL of a source, as its last answers gave them."""
    rows = conn.execute(
        "SELECT url, etag, last_modified FROM http_validators WHERE source_id = ?", [source_id]
    ).fetchall()
    return {url: Validators(etag, modified) for url, etag, modified in rows}


def save_validators(conn: duckdb.DuckDBPyConnection, attempts: Iterable[FetchAttempt]) -> None:
    """Remember the validators of listings that were read, for the next conditional GET."""
    now = datetime.now(UTC)
    rows = [
        (a.url, a.source_id, a.validators.etag, a.validators.last_modified, now)
        for a in attempts
        if a.outcome == "listed" and a.validators
    ]
    if rows:
        conn.executemany("INSERT OR REPLACE INTO http_validators VALUES (?, ?, ?, ?, ?)", rows)


def cursor(conn: duckdb.DuckDBPyConnection, source_id: str) -> datetime | None:
    """The newest publication time a daily run has seen from this source."""
    row = conn.execute(
        "SELECT newest_published FROM source_cursors WHERE source_id = ?", [source_id]
    ).fetchone()
    return row[0] if row else None


def advance_cursor(conn: duckdb.DuckDBPyConnection, source_id: str, links: Sequence[Link]) -> None:
    """Move a source's cursor to the newest publication time among its links (never back)."""
    times = [link.published_at for link in links if link.published_at is not None]
    if not times:
        return
    newest = max(t if t.tzinfo else t.replace(tzinfo=UTC) for t in times)
    conn.execute(
        "INSERT INTO source_cursors VALUES (?, ?, ?) ON CONFLICT (source_id) DO UPDATE SET "
        "newest_published = greatest(newest_published, excluded.newest_published), "
        "updated_at = excluded.updated_at",
        [source_id, newest, datetime.now(UTC)],
    )
