"""What connectors remember between daily runs: listing validators and cursors.

(Which URLs to try again is the frontier's business: warehouse/frontier.py.)"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from connectors.plausible import DateWindow, plausible_date
from connectors.records import FetchAttempt, Link, Validators
from warehouse.sql import merge


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
    rows = {
        a.url: {
            "url": a.url,
            "source_id": a.source_id,
            "etag": a.validators.etag,
            "last_modified": a.validators.last_modified,
            "updated_at": now,
        }
        for a in attempts
        if a.outcome == "listed" and a.validators
    }
    if rows:
        table = pa.Table.from_pylist(list(rows.values()), _VALIDATOR_SCHEMA)
        merge(conn, "http_validators", table, ["url"])


_VALIDATOR_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("source_id", pa.string()),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)


def cursor(conn: duckdb.DuckDBPyConnection, source_id: str) -> datetime | None:
    """The newest publication time a daily run has seen from this source."""
    row = conn.execute(
        "SELECT newest_published FROM source_cursors WHERE source_id = ?", [source_id]
    ).fetchone()
    return plausible_date(row[0]) if row else None  # a cursor past now + slack is none


def advance_cursor(conn: duckdb.DuckDBPyConnection, source_id: str, links: Sequence[Link]) -> None:
    """Move a source's cursor to the newest publication time among its links (never back,
    never past now + slack: an implausible cursor stored before is replaced)."""
    times = [t for link in links if (t := plausible_date(link.published_at)) is not None]
    if not times:
        return
    newest = max(t if t.tzinfo else t.replace(tzinfo=UTC) for t in times)
    now = datetime.now(UTC)
    conn.execute(
        "MERGE INTO source_cursors c USING (SELECT ? AS source_id, ?::TIMESTAMPTZ AS newest, "
        "?::TIMESTAMPTZ AS updated_at, ?::TIMESTAMPTZ AS latest) n USING (source_id) "
        "WHEN MATCHED THEN UPDATE SET newest_published = greatest(CASE WHEN "
        "c.newest_published > n.latest THEN NULL ELSE c.newest_published END, n.newest), "
        "updated_at = n.updated_at "
        "WHEN NOT MATCHED THEN INSERT VALUES (n.source_id, n.newest, n.updated_at)",
        [source_id, newest, now, DateWindow().latest(now)],
    )
