"""The crawl frontier: one row per URL with its state and when it is next due.

fetch_log is the history of attempts; the frontier is the current state. Listings add URLs
here as "discovered" (due now) before anything is fetched, so a crash or an unchanged feed
never loses one. Runs claim due URLs in chunks with a lease (so two runs on one warehouse
never fetch a page twice) and write each chunk's results back in the chunk's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

import duckdb
import pyarrow as pa

from connectors.records import FINAL_STATES, WAITING_STATES, Link, Validators
from warehouse import runners
from warehouse.sql import registered, transaction, url_table

LEASE = timedelta(minutes=30)  # a chunk not committed by then is free for another run


class Refetch(StrEnum):
    """What a run fetches although the revisit policy holds it back (`--refetch`)."""

    FAILED = "failed"  # every failed URL, due or given up
    ALL = "all"  # every URL of the source


@dataclass(frozen=True)
class Claimed:
    """A due URL leased to this run, with what its listing said and its failures so far.

    validators: what the last answer identified a stored article by, for a conditional GET.
    """

    link: Link
    failures: int
    validators: Validators = Validators()


def lease_owner(run_id: str) -> str:
    """Who holds a lease: host and process (so a dead holder on this host is seen) and run."""
    return f"{runners.this_process()}:{run_id}"


_LINK_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("source_id", pa.string()),
        ("listed_title", pa.string()),
        ("listed_published_at", pa.timestamp("us", tz="UTC")),
        ("listed_modified_at", pa.timestamp("us", tz="UTC")),
    ]
)


def record_listed(conn: duckdb.DuckDBPyConnection, links: Sequence[Link], now: datetime) -> int:
    """Add newly listed URLs as due now; known ones keep their state. Returns how many are new.

    A listing's dates fill in what a known row lacks, so backfill windows can use them.
    """
    unique = list({link.url: link for link in links}.values())
    rows = pa.table(
        [
            pa.array([link.url for link in unique], pa.string()),
            pa.array([link.source_id for link in unique], pa.string()),
            pa.array([link.title for link in unique], pa.string()),
            pa.array([link.published_at for link in unique], pa.timestamp("us", tz="UTC")),
            pa.array([link.modified_at for link in unique], pa.timestamp("us", tz="UTC")),
        ],
        schema=_LINK_SCHEMA,
    )
    with registered(conn, listed=rows):
        # counted first: DuckLake has no INSERT ... RETURNING (the caller's transaction holds)
        [(new,)] = conn.execute(
            "SELECT count(*) FROM listed ANTI JOIN frontier USING (url)"
        ).fetchall()
        conn.execute(
            "INSERT INTO frontier (url, source_id, state, listed_title, listed_published_at, "
            "listed_modified_at, first_seen, next_due) "
            "SELECT url, source_id, 'discovered', listed_title, listed_published_at, "
            "listed_modified_at, $now, $now FROM listed ANTI JOIN frontier USING (url)",
            {"now": now},
        )
        conn.execute(
            "UPDATE frontier f SET listed_title = coalesce(f.listed_title, l.listed_title), "
            "listed_published_at = coalesce(f.listed_published_at, l.listed_published_at), "
            "listed_modified_at = coalesce(l.listed_modified_at, f.listed_modified_at) "
            "FROM listed l WHERE f.url = l.url AND f.state = 'discovered'"
        )
    return int(new)


def claim(
    conn: duckdb.DuckDBPyConnection,
    source_id: str,
    owner: str,
    limit: int,
    now: datetime,
    run_started: datetime,
    window: tuple[date | None, date | None] = (None, None),
    refetch: Refetch | None = None,
) -> list[Claimed]:
    """Lease up to `limit` due URLs of a source to `owner`, oldest listed first.

    Due means: the policy's next_due has come (or `refetch` forces it), no live lease, not
    already tried by this run, and, for a backfill window, not known to be published outside it.
    Leases of dead processes on this host are taken over at once, others when they expire.
    """
    since, until = window
    sql = f"""
        SELECT url, listed_title, listed_published_at, listed_modified_at, attempts,
            etag, last_modified
        FROM frontier
        WHERE source_id = $source
          AND (leased_until IS NULL OR leased_until < $now OR list_contains($dead, leased_by))
          AND (last_fetched IS NULL OR last_fetched < $run_started)
          AND ({_DUE[refetch]})
          AND ({_IN_WINDOW})
        ORDER BY first_seen, url
        LIMIT $limit
        """
    values = {
        "source": source_id,
        "now": now,
        "dead": _dead_owners(conn, source_id, now),
        "run_started": run_started,
        "limit": limit,
        "since": since,
        "until": until,
        "final": sorted(FINAL_STATES),
        "waiting": sorted(WAITING_STATES),
    }
    # chosen, then leased, in one transaction: DuckLake has no UPDATE ... RETURNING
    with transaction(conn):
        rows = conn.execute(sql, {k: v for k, v in values.items() if f"${k}" in sql}).fetchall()
        chosen = url_table(row[0] for row in rows)
        with registered(conn, chosen=chosen):
            conn.execute(
                "UPDATE frontier SET leased_by = ?, leased_until = ? "
                "WHERE url IN (SELECT url FROM chosen)",
                [owner, now + LEASE],
            )
    rows.sort(key=lambda row: row[0])
    return [
        Claimed(Link(source_id, url, title, published, modified), attempts, Validators(*tags))
        for url, title, published, modified, attempts, *tags in rows
    ]


_DUE = {
    None: "next_due IS NOT NULL AND next_due <= $now",
    Refetch.FAILED: "(next_due IS NOT NULL AND next_due <= $now) "
    "OR NOT (list_contains($final, state) OR list_contains($waiting, state))",
    Refetch.ALL: "true",
}
# The listing's (or an earlier fetch's) publication day within [since, until]; a modification
# time only bounds publication from above, so it can only rule out pages older than `since`.
_DAY = "CAST(timezone('UTC', {}) AS DATE)"
_IN_WINDOW = (
    f"CASE WHEN listed_published_at IS NOT NULL THEN "
    f"($since IS NULL OR {_DAY.format('listed_published_at')} >= $since) AND "
    f"($until IS NULL OR {_DAY.format('listed_published_at')} <= $until) "
    f"ELSE ($since IS NULL OR listed_modified_at IS NULL "
    f"OR {_DAY.format('listed_modified_at')} >= $since) END"
)


def release(conn: duckdb.DuckDBPyConnection, owner: str) -> None:
    """Give back what a run leased but did not commit (it stopped early)."""
    conn.execute(
        "UPDATE frontier SET leased_by = NULL, leased_until = NULL WHERE leased_by = ?", [owner]
    )


def leased_elsewhere(
    conn: duckdb.DuckDBPyConnection, source_id: str, owner: str, now: datetime
) -> int:
    """How many other live runs hold leases on a source's URLs (dead ones are taken over)."""
    owners = conn.execute(
        "SELECT DISTINCT leased_by FROM frontier WHERE source_id = ? AND leased_until >= ? "
        "AND leased_by IS NOT NULL AND leased_by <> ?",
        [source_id, now, owner],
    ).fetchall()
    return sum(1 for (other,) in owners if not runners.is_dead(other))


def _dead_owners(conn: duckdb.DuckDBPyConnection, source_id: str, now: datetime) -> list[str]:
    """Live-looking leases held by processes of this host that no longer exist (a kill -9)."""
    owners = conn.execute(
        "SELECT DISTINCT leased_by FROM frontier "
        "WHERE source_id = ? AND leased_until >= ? AND leased_by IS NOT NULL",
        [source_id, now],
    ).fetchall()
    return [owner for (owner,) in owners if runners.is_dead(owner)]


_ROW_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("source_id", pa.string()),
        ("state", pa.string()),
        ("resolved_url", pa.string()),
        ("via", pa.string()),
        ("listed_published_at", pa.timestamp("us", tz="UTC")),
        ("first_seen", pa.timestamp("us", tz="UTC")),
        ("last_fetched", pa.timestamp("us", tz="UTC")),
        ("attempts", pa.int32()),
        ("last_status", pa.int32()),
        ("last_error", pa.string()),
        ("next_due", pa.timestamp("us", tz="UTC")),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
    ]
)


def write_states(conn: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, object]]) -> None:
    """Upsert frontier rows (one per URL) and free their leases; part of a chunk's commit."""
    unique = list({row["url"]: row for row in rows}.values())
    with registered(conn, states=pa.Table.from_pylist(unique, _ROW_SCHEMA)):
        conn.execute(
            "MERGE INTO frontier f USING states s USING (url) WHEN MATCHED THEN UPDATE SET "
            "state = s.state, resolved_url = s.resolved_url, via = s.via, "
            "listed_published_at = coalesce(s.listed_published_at, f.listed_published_at), "
            "last_fetched = s.last_fetched, attempts = s.attempts, last_status = s.last_status, "
            "last_error = s.last_error, next_due = s.next_due, "
            "etag = coalesce(s.etag, f.etag), "
            "last_modified = coalesce(s.last_modified, f.last_modified), "
            "leased_by = NULL, leased_until = NULL "
            "WHEN NOT MATCHED THEN INSERT BY NAME"
        )


def summary(conn: duckdb.DuckDBPyConnection, now: datetime) -> list[tuple]:
    """Per source and state: URLs, how many are due now, how many were given up."""
    return conn.execute(
        "SELECT source_id, state, count(*) AS urls, "
        "count(*) FILTER (next_due <= $now) AS due, "
        "count(*) FILTER (next_due IS NULL AND NOT list_contains($final, state)) AS given_up "
        "FROM frontier GROUP BY ALL ORDER BY ALL",
        {"now": now, "final": sorted(FINAL_STATES)},
    ).fetchall()


def failures(conn: duckdb.DuckDBPyConnection, source_id: str | None = None) -> list[tuple]:
    """Failed URLs with their reason, attempts and next due time (NULL: given up)."""
    return conn.execute(
        "SELECT source_id, url, state, last_status, last_error, attempts, next_due "
        "FROM frontier WHERE NOT (list_contains($final, state) OR list_contains($waiting, state)) "
        "AND ($source IS NULL OR source_id = $source) ORDER BY source_id, url",
        {"final": sorted(FINAL_STATES), "waiting": sorted(WAITING_STATES), "source": source_id},
    ).fetchall()
