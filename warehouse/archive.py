"""The raw archive: every fetched body, zstd-compressed, stored once by its SHA-256.

Keeping bodies lets the pipeline re-extract, re-detect and re-translate without fetching again.
Bodies are the decoded page text stored as UTF-8, so a re-read never guesses the charset again.
They live beside the warehouse (`data/newsflow.archive/`; on DuckLake `archive/` under its data
path), and the raw_archive table keeps each one's key, sizes and place:

- since migration 0021, in packs: one file a commit (`packs/<day>/<uuid>.pack`), the commit's
  new bodies' zstd frames one after another, written and fsynced (file and directory) before
  the rows that name them (`pack`, `pack_offset`, `stored_size`) commit. A file a body cost a
  mkdir, an open and a rename each, and two syncs of the whole file system a chunk: most of a
  chunk's commit. A pack is self-delimiting (zstd frames; each body's key is its SHA-256), so
  it can be read without the table too: `zstd -dc <pack>` prints its bodies one after another;
- before it, a file a body (`ab/cd/<sha256>.zst`, rows with no pack); they are read as they are.

In the table itself every append made DuckDB's checkpoint rewrite the row group holding all the
bodies: 0.4 s per commit at 5k articles, and growing with the archive.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
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
        ("pack", pa.string()),
        ("pack_offset", pa.int64()),
    ]
)
# zstd's default level. On the 181 benchmark pages: 5.1x smaller at 220 MB/s, against 5.6x at
# 43 MB/s for level 10, whose compression took a fifth of the commit thread's time at ingest.
_LEVEL = 3
SUFFIX = ".zst"
PACKS = "packs"  # the packs' directory under the archive's root, a folder a day in it
PACK_SUFFIX = ".pack"
log = logging.getLogger("newsflow.archive")
ORPHAN_AGE_SECONDS = 24 * 3600  # a file without a row this old was written by a lost commit


@dataclass(frozen=True)
class Body:
    """A fetched body ready for the archive: its key, sizes and zstd frame."""

    sha256: str
    content_type: str | None
    size: int
    compressed: bytes
    archived_at: datetime

    def row(self, pack: str | None = None, offset: int | None = None) -> dict[str, object]:
        """Its raw_archive row (the frame itself goes to a file): where in which pack, or no
        pack for a file of its own."""
        return {
            "sha256": self.sha256,
            "content_type": self.content_type,
            "size": self.size,
            "stored_size": len(self.compressed),
            "archived_at": self.archived_at,
            "pack": pack,
            "pack_offset": offset,
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
    compressed = bytes(memoryview(_compressor().compress(data)))
    return Body(hashlib.sha256(data).hexdigest(), content_type, len(data), compressed, archived_at)


_local = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    """This thread's compressor (one is not safe to share between threads): making one a
    body cost 40 us, more than compressing a 1 KB page; its frames are the same."""
    if (made := getattr(_local, "compressor", None)) is None:
        made = _local.compressor = zstandard.ZstdCompressor(level=_LEVEL)
    return made


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
    """Write the bodies not yet on disk as a file each (the layout before packs, which
    migration 0013 still writes); all are durable when this returns, so a row committed after
    it may name them.

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


def write_pack(root: Path, bodies: Sequence[Body], now: datetime | None = None) -> pa.Table:
    """Write these bodies into one new pack and return their raw_archive rows (ARCHIVE_SCHEMA).

    The pack is durable when this returns (its data and its directory entry fsynced), so a row
    committed after it may name it. A crash before leaves a pack no row names, which
    sweep_orphans removes: never a row that names a body not on disk. The name is new (a
    UUID): two writers never share a pack, and a pack is never written twice.
    """
    if not bodies:
        return ARCHIVE_SCHEMA.empty_table()
    day = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d")
    name = f"{PACKS}/{day}/{uuid.uuid4().hex}{PACK_SUFFIX}"
    path = root / name
    _make_durable_dirs(path.parent)
    rows, offset = [], 0
    for body in bodies:
        rows.append(body.row(name, offset))
        offset += len(body.compressed)
    data = memoryview(b"".join(body.compressed for body in bodies))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        while data:
            data = data[os.write(descriptor, data) :]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    _fsync_dir(path.parent)
    return pa.Table.from_pylist(rows, ARCHIVE_SCHEMA)


def store_bodies(conn: duckdb.DuckDBPyConnection, bodies: Iterable[Body]) -> None:
    """Archive the bodies the warehouse does not have yet: one pack for them all, durable
    before their rows are inserted. Call it in the transaction whose commit makes them
    visible (the chunk's): its check for known bodies and its rows are that transaction's."""
    by_key = {body.sha256: body for body in bodies}
    if not by_key:
        return
    candidates = pa.table({"sha256": pa.array(list(by_key), pa.string())})
    with registered(conn, candidates=candidates):
        known = conn.execute(
            "SELECT sha256 FROM raw_archive JOIN candidates USING (sha256)"
        ).fetchall()
    for (sha256,) in known:
        by_key.pop(sha256, None)
    if not by_key:
        return
    rows = write_pack(archive_root(conn), list(by_key.values()))
    with registered(conn, archive_rows=rows):
        conn.execute("INSERT INTO raw_archive BY NAME SELECT * FROM archive_rows")


def _make_durable_dirs(directory: Path) -> None:
    """Make a directory and any missing parents, each one's entry synced in its parent."""
    if directory.is_dir():
        return
    missing = [directory, *(p for p in directory.parents if not p.is_dir())]
    for made in reversed(missing):
        made.mkdir(exist_ok=True)
        _fsync_dir(made.parent)


def _fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


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


def delete_bodies(
    conn: duckdb.DuckDBPyConnection, dropped: Iterable[tuple[str, str | None]]
) -> None:
    """Remove what held these bodies, whose rows are gone ((key, pack) each): a body's own file,
    or its pack once no row names it any more. A pack named by committed rows is complete and
    never written again (each write makes a new one), so nothing is in flight in it."""
    root = archive_root(conn)
    packs: set[str] = set()
    for sha256, pack in dropped:
        if pack is None:
            body_path(root, sha256).unlink(missing_ok=True)
        else:
            packs.add(pack)
    if not packs:
        return
    with registered(conn, candidates=pa.table({"pack": pa.array(sorted(packs), pa.string())})):
        named = conn.execute(
            "SELECT DISTINCT pack FROM raw_archive JOIN candidates USING (pack)"
        ).fetchall()
    for pack in packs - {name for (name,) in named}:
        (root / pack).unlink(missing_ok=True)


@dataclass(frozen=True)
class _Place:
    """Where a body's frame is: its own file (pack None), or stored_size bytes of a pack."""

    sha256: str
    pack: str | None
    offset: int | None
    stored_size: int | None


class UnreadableBody(KeyError):
    """An archived body that cannot be read back: its file or pack missing, cut short or
    damaged (a disk fault, a hand-edited archive)."""


def _read(root: Path, places: Sequence[_Place]) -> list[str | UnreadableBody]:
    """The bodies at these places, in order, each pack opened once; a body that cannot be
    read is its UnreadableBody, and costs no other body."""
    frames: dict[int, bytes | UnreadableBody] = {}
    by_pack: dict[str, list[int]] = defaultdict(list)
    for i, place in enumerate(places):
        if place.pack is None:
            path = body_path(root, place.sha256)
            try:
                frames[i] = path.read_bytes()
            except FileNotFoundError:
                frames[i] = UnreadableBody(
                    f"archived body {place.sha256} is missing its file {path}"
                )
        else:
            by_pack[place.pack].append(i)
    for pack, indexes in by_pack.items():
        path = root / pack
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            for i in indexes:
                frames[i] = UnreadableBody(
                    f"archived body {places[i].sha256} is missing its pack {path}"
                )
            continue
        try:
            for i in indexes:
                place = places[i]
                size, offset = int(place.stored_size or 0), int(place.offset or 0)
                frame = os.pread(descriptor, size, offset)
                frames[i] = (
                    frame
                    if len(frame) == size
                    else UnreadableBody(f"archived body {place.sha256} is cut short in {path}")
                )
        finally:
            os.close(descriptor)
    decompressor = zstandard.ZstdDecompressor()
    return [_decoded(decompressor, places[i], frames[i]) for i in range(len(places))]


def _decoded(
    decompressor: zstandard.ZstdDecompressor, place: _Place, frame: bytes | UnreadableBody
) -> str | UnreadableBody:
    if isinstance(frame, UnreadableBody):
        return frame
    try:
        return decompressor.decompress(frame).decode("utf-8")
    except (zstandard.ZstdError, UnicodeDecodeError) as exc:
        return UnreadableBody(f"archived body {place.sha256} is damaged: {exc}")


def read_bodies(conn: duckdb.DuckDBPyConnection, keys: Iterable[str]) -> list[str]:
    """The bodies with these keys, in order (each must have a raw_archive row, or a file of
    its own from before packs)."""
    keys = list(keys)
    wanted = pa.table({"sha256": pa.array(sorted(set(keys)), pa.string())})
    with registered(conn, wanted=wanted):
        found = conn.execute(
            "SELECT sha256, pack, pack_offset, stored_size FROM raw_archive "
            "JOIN wanted USING (sha256) WHERE pack IS NOT NULL"
        ).fetchall()
    packed = {row[0]: _Place(*row) for row in found}
    places = [packed.get(key) or _Place(key, None, None, None) for key in keys]
    texts = []
    for body in _read(archive_root(conn), places):
        if isinstance(body, UnreadableBody):
            raise body
        texts.append(body)
    return texts


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
    """These stored articles with the body each came from (one chunk of archived_urls); an
    article whose body cannot be read back is left out with a warning (it stays as stored)."""
    with registered(conn, wanted=url_table(urls)):
        rows = conn.execute(
            "SELECT a.url, a.source_id, a.fetched_at, "
            "r.sha256, r.pack, r.pack_offset, r.stored_size "
            "FROM articles a JOIN raw_archive r ON r.sha256 = a.raw_sha256 "
            "WHERE a.url IN (SELECT url FROM wanted) ORDER BY a.url"
        ).fetchall()
    bodies = _read(archive_root(conn), [_Place(*row[3:]) for row in rows])
    pages = []
    for (url, source, fetched, *_), body in zip(rows, bodies, strict=True):
        if isinstance(body, UnreadableBody):
            log.warning("%s: kept as stored, %s", url, body.args[0])
        else:
            pages.append(ArchivedPage(url, source, fetched, body))
    return pages


def sweep_orphans(conn: duckdb.DuckDBPyConnection) -> int:
    """Delete body files and packs that no row names, older than a day; returns how many.

    They are bodies written for a commit that never landed (a crash between file and row, or
    in the middle of a file), and packs whose every body maintenance dropped; the age keeps a
    commit in flight, whose rows are not visible yet, from losing its files.
    """
    root = archive_root(conn)
    if not root.is_dir():
        return 0
    cutoff = time.time() - ORPHAN_AGE_SECONDS
    removed = _sweep_packs(conn, root / PACKS, cutoff)
    for top in sorted(p for p in root.iterdir() if p.is_dir() and p.name != PACKS):
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


def _sweep_packs(conn: duckdb.DuckDBPyConnection, packs: Path, cutoff: float) -> int:
    """Delete the packs under packs/ that no raw_archive row names, older than cutoff."""
    if not packs.is_dir():
        return 0
    removed = 0
    old_days = datetime.fromtimestamp(cutoff, UTC).strftime("%Y-%m-%d")  # before yesterday
    for day in sorted(p for p in packs.iterdir() if p.is_dir()):
        files = [f for f in day.iterdir() if f.is_file()]
        names = [f"{PACKS}/{day.name}/{f.name}" for f in files]
        with registered(conn, candidates=pa.table({"pack": pa.array(names, pa.string())})):
            named = {
                row[0]
                for row in conn.execute(
                    "SELECT DISTINCT pack FROM raw_archive JOIN candidates USING (pack)"
                ).fetchall()
            }
        for path, name in zip(files, names, strict=True):
            if name not in named and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        if day.name < old_days and not any(day.iterdir()):  # no writer is writing there
            day.rmdir()
    return removed
