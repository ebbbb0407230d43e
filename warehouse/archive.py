"""The raw archive: every fetched body, zstd-compressed, stored once by its SHA-256.

Keeping bodies lets the pipeline re-extract, re-detect and re-translate without fetching again.
Bodies are the decoded page text stored as UTF-8, so a re-read never guesses the charset again.
Each body is a file beside the warehouse (`data/newsflow.archive/ab/cd/<sha256>.zst`; on
DuckLake `archive/` under its data path); the raw_archive table keeps its key and sizes. In
the table itself every append made DuckDB's checkpoint rewrite the row group holding all the
bodies: 0.4 s per commit at 5k articles, and growing with the archive.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import zstandard

from core.settings import VARIABLES
from core.settings import current as current_settings
from warehouse import lake
from warehouse.sql import registered, url_table

ARCHIVE_SCHEMA = pa.schema(
    [
        ("sha256", pa.string()),
        ("content_type", pa.string()),
        ("size", pa.int64()),
        ("stored_size", pa.int64()),
        ("archived_at", pa.timestamp("us", tz="UTC")),
    ]
)
# zstd's default level. On the 181 benchmark pages: 5.1x smaller at 220 MB/s, against 5.6x at
# 43 MB/s for level 10, whose compression took a fifth of the commit thread's time at ingest.
_LEVEL = 3
SUFFIX = ".zst"
ORPHAN_AGE_SECONDS = 24 * 3600  # a file without a row this old was written by a lost commit


@dataclass(frozen=True)
class Body:
    """A fetched body ready for the archive: its key, sizes and zstd frame."""

    sha256: str
    content_type: str | None
    size: int
    compressed: bytes
    archived_at: datetime

    def row(self) -> dict[str, object]:
        """Its raw_archive row (the frame itself goes to a file)."""
        return {
            "sha256": self.sha256,
            "content_type": self.content_type,
            "size": self.size,
            "stored_size": len(self.compressed),
            "archived_at": self.archived_at,
        }


@dataclass(frozen=True)
class ArchivedPage:
    """An archived article page with what re-processing it needs to know."""

    url: str
    source_id: str
    fetched_at: datetime
    html: str


def pack(text: str, content_type: str | None, archived_at: datetime) -> Body:
    """A fetched body compressed and keyed for the archive."""
    data = text.encode("utf-8")
    # A copy: python-zstandard's frame keeps an allocation the size of its input (a chunk's
    # frames wait in memory until its commit: 30 MB for the 178 benchmark pages, not 6 MB).
    compressed = bytes(memoryview(zstandard.ZstdCompressor(level=_LEVEL).compress(data)))
    return Body(hashlib.sha256(data).hexdigest(), content_type, len(data), compressed, archived_at)


def archive_root(conn: duckdb.DuckDBPyConnection) -> Path:
    """Where this warehouse's bodies live: the settings' archive, else beside the DuckDB file, or
    under the lake's data path (a remote one, s3://..., needs the archive set)."""
    if (chosen := current_settings().archive) is not None:
        return chosen
    on_lake = lake.data_dir(conn)
    if on_lake is not None:
        if "://" in on_lake:
            raise ValueError(
                f"the lake's data path {on_lake} is not a directory: set "
                f"{VARIABLES['archive']} to one that every worker sees for the raw archive's bodies"
            )
        return Path(on_lake) / "archive"
    row = conn.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if not row or not row[0]:
        raise ValueError("an in-memory warehouse has no raw archive")
    path = Path(row[0])
    return path.with_name(f"{path.stem}.archive")


def body_path(root: Path, sha256: str) -> Path:
    """A body's file: two levels of fan-out keep directories small at millions of bodies."""
    return root / sha256[:2] / sha256[2:4] / f"{sha256}{SUFFIX}"


def write_bodies(root: Path, bodies: Iterable[Body]) -> None:
    """Write the bodies not yet on disk; all are durable when this returns, so a row
    committed after it may name them.

    Each body goes to a temporary name, the chunk's files are synced at once, and only then
    renamed and synced again: a crash leaves no half-written body under a real key, at two
    syncs a chunk instead of one a body (which was most of a chunk's commit).
    """
    pending: dict[Path, Path] = {}
    for body in bodies:
        path = body_path(root, body.sha256)
        if path in pending or path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_bytes(body.compressed)
        pending[path] = partial
    if not pending:
        return
    _sync(root, pending.values())
    for path, partial in pending.items():
        partial.replace(path)
    _sync(root, {path.parent for path in pending})


def _sync(root: Path, paths: Iterable[Path]) -> None:
    """Make these files (or directories) durable: one syncfs of the archive's filesystem
    where Linux has it, else an fsync each."""
    if _syncfs is not None:
        descriptor = os.open(root, os.O_RDONLY)
        try:
            if _syncfs(descriptor) == 0:
                return
        finally:
            os.close(descriptor)
    for path in paths:
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _libc_syncfs() -> Callable[[int], int] | None:
    """glibc's syncfs(2), which flushes one filesystem; None where the C library lacks it."""
    try:
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


_syncfs = _libc_syncfs()


def delete_bodies(root: Path, keys: Iterable[str]) -> None:
    """Remove the files of bodies whose rows are gone."""
    for sha256 in keys:
        body_path(root, sha256).unlink(missing_ok=True)


def _load(root: Path, sha256: str, decompressor: zstandard.ZstdDecompressor) -> str:
    path = body_path(root, sha256)
    try:
        frame = path.read_bytes()
    except FileNotFoundError as exc:
        raise KeyError(f"archived body {sha256} is missing its file {path}") from exc
    return decompressor.decompress(frame).decode("utf-8")


def read_bodies(conn: duckdb.DuckDBPyConnection, keys: Iterable[str]) -> list[str]:
    """The bodies with these keys, in order (each must have a raw_archive row)."""
    root, decompressor = archive_root(conn), zstandard.ZstdDecompressor()
    return [_load(root, sha256, decompressor) for sha256 in keys]


def archived_urls(
    conn: duckdb.DuckDBPyConnection,
    urls: Sequence[str] | None = None,
    source_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[str]:
    """Stored articles with an archived body, chosen by URL, source and fetch day, in order.

    Articles stored before the archive existed have no body and are left out.
    """
    with registered(conn, wanted=url_table(urls or [])):
        rows = conn.execute(
            """
            SELECT a.url FROM articles a JOIN raw_archive r ON r.sha256 = a.raw_sha256
            WHERE ($all_urls OR a.url IN (SELECT url FROM wanted))
              AND ($source IS NULL OR a.source_id = $source)
              AND ($since IS NULL OR CAST(a.fetched_at AS DATE) >= $since)
              AND ($until IS NULL OR CAST(a.fetched_at AS DATE) <= $until)
            ORDER BY a.url
            """,
            {"all_urls": not urls, "source": source_id, "since": since, "until": until},
        ).fetchall()
    return [url for (url,) in rows]


def archived_pages(conn: duckdb.DuckDBPyConnection, urls: Sequence[str]) -> list[ArchivedPage]:
    """These stored articles with the body each came from (one chunk of archived_urls)."""
    with registered(conn, wanted=url_table(urls)):
        rows = conn.execute(
            "SELECT a.url, a.source_id, a.fetched_at, r.sha256 "
            "FROM articles a JOIN raw_archive r ON r.sha256 = a.raw_sha256 "
            "WHERE a.url IN (SELECT url FROM wanted) ORDER BY a.url"
        ).fetchall()
    bodies = read_bodies(conn, [sha256 for *_, sha256 in rows])
    return [
        ArchivedPage(url, source, fetched, body)
        for (url, source, fetched, _), body in zip(rows, bodies, strict=True)
    ]


def sweep_orphans(conn: duckdb.DuckDBPyConnection) -> int:
    """Delete body files that no row names, older than a day; returns how many.

    They are bodies written for a commit that never landed (a crash between file and row, or
    in the middle of a file); the age keeps a commit in flight, whose rows are not visible
    yet, from losing its files.
    """
    root = archive_root(conn)
    if not root.is_dir():
        return 0
    cutoff = time.time() - ORPHAN_AGE_SECONDS
    removed = 0
    for top in sorted(p for p in root.iterdir() if p.is_dir()):
        files = [f for f in top.glob("*/*") if f.is_file()]
        if not files:
            continue
        keys = pa.table({"sha256": pa.array([f.name.split(".")[0] for f in files], pa.string())})
        with registered(conn, candidates=keys):
            known = {
                row[0]
                for row in conn.execute(
                    "SELECT sha256 FROM raw_archive JOIN candidates USING (sha256)"
                ).fetchall()
            }
        for path in files:
            kept = path.name.endswith(SUFFIX) and path.name.removesuffix(SUFFIX) in known
            if not kept and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
    return removed
