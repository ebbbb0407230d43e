"""Story clusters: every article joins the cluster of its nearest near-duplicate, or founds one.

Clustering reads the English text (the translation, or the original where there is none yet),
so one story reposted across sources and languages lands in one cluster. It runs after each
load over the articles that have no cluster yet, so it also catches up after any interruption.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from processing.similarity import (
    NEAR_DUPLICATE,
    SIGNATURE_VERSION,
    band_buckets,
    minhash,
    similarities,
)
from warehouse.sql import registered, transaction, url_table, wide_rows

_CLUSTER_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("cluster_id", pa.int64()),
        ("similarity", pa.float64()),
        ("minhash", pa.list_(pa.uint64())),
        ("assigned_at", pa.timestamp("us", tz="UTC")),
        ("signature_version", pa.int16()),
    ]
)
_BAND_SCHEMA = pa.schema([("band", pa.int16()), ("bucket", pa.uint64()), ("url", pa.string())])


def assign_clusters(conn: duckdb.DuckDBPyConnection) -> int:
    """Give every article without a cluster one, in one transaction; returns how many."""
    _resign(conn)
    pending = wide_rows(
        conn,
        "articles",
        "SELECT rowid FROM articles WHERE url NOT IN (SELECT url FROM story_clusters)",
        "url, coalesce(text_en, text)",
        order="ORDER BY fetched_at, url",
    )
    if not pending:
        return 0
    signatures = {url: minhash(text) for url, text in pending}
    bands = {url: band_buckets(sig) for url, sig in signatures.items()}
    band_rows = _band_table(bands)
    with transaction(conn):
        known = _known_candidates(conn, band_rows)
        rows = _assign(pending, signatures, bands, known)
        cluster_rows = pa.Table.from_pylist(rows, _CLUSTER_SCHEMA)
        with registered(conn, cluster_rows=cluster_rows, band_rows=band_rows):
            conn.execute("INSERT INTO story_clusters BY NAME SELECT * FROM cluster_rows")
            conn.execute("INSERT INTO minhash_bands BY NAME SELECT * FROM band_rows")
    return len(rows)


def _resign(conn: duckdb.DuckDBPyConnection) -> None:
    """Recompute signatures and bands stored by an older SIGNATURE_VERSION, keeping clusters.

    New articles are compared with stored signatures, so both must be made the same way.
    """
    stale = wide_rows(
        conn,
        "articles",
        "SELECT a.rowid FROM story_clusters c JOIN articles a ON a.url = c.url "
        "WHERE c.signature_version IS DISTINCT FROM ?",
        "url, coalesce(text_en, text)",
        params=[SIGNATURE_VERSION],
    )
    if not stale:
        return
    signatures = {url: minhash(text) for url, text in stale}
    resigned = pa.table(
        {
            "url": pa.array(list(signatures), pa.string()),
            "minhash": pa.array([s.tolist() for s in signatures.values()], pa.list_(pa.uint64())),
        }
    )
    band_rows = _band_table({url: band_buckets(sig) for url, sig in signatures.items()})
    with transaction(conn), registered(conn, resigned=resigned, band_rows=band_rows):
        conn.execute(
            "UPDATE story_clusters c SET minhash = r.minhash, signature_version = ? "
            "FROM resigned r WHERE c.url = r.url",
            [SIGNATURE_VERSION],
        )
        conn.execute("DELETE FROM minhash_bands WHERE url IN (SELECT url FROM resigned)")
        conn.execute("INSERT INTO minhash_bands BY NAME SELECT * FROM band_rows")


def _band_table(bands: dict[str, list[int]]) -> pa.Table:
    """LSH band rows (band number, bucket, url) of these articles."""
    return pa.table(
        {
            "band": pa.array([i for b in bands.values() for i in range(len(b))], pa.int16()),
            "bucket": pa.array([k for b in bands.values() for k in b], pa.uint64()),
            "url": pa.array([u for u, b in bands.items() for _ in b], pa.string()),
        },
        _BAND_SCHEMA,
    )


def forget(conn: duckdb.DuckDBPyConnection, urls: list[str]) -> None:
    """Drop these articles' signatures and clusters, so the next assignment reads their new text."""
    with registered(conn, forget_urls=url_table(urls)):
        conn.execute("DELETE FROM minhash_bands WHERE url IN (SELECT url FROM forget_urls)")
        conn.execute("DELETE FROM story_clusters WHERE url IN (SELECT url FROM forget_urls)")


def _known_candidates(
    conn: duckdb.DuckDBPyConnection, band_rows: pa.Table
) -> dict[str, list[tuple[str, int, np.ndarray]]]:
    """Per pending URL, already clustered articles sharing a band: (url, cluster, signature)."""
    with registered(conn, band_rows=band_rows):
        found = conn.execute(
            "SELECT s.pending, c.url, c.cluster_id, c.minhash FROM ("
            "  SELECT DISTINCT p.url AS pending, m.url AS other FROM band_rows p "
            "  JOIN minhash_bands m ON m.band = p.band AND m.bucket = p.bucket"
            ") s JOIN story_clusters c ON c.url = s.other"
        ).to_arrow_table()
    candidates: dict[str, list[tuple[str, int, np.ndarray]]] = {}
    if not found.num_rows:
        return candidates
    # the signatures as one array, not a Python list of ints each (a pending copy of a much
    # copied story has every copy for candidate)
    lists = found["minhash"].combine_chunks()
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    if lengths.min() == lengths.max() > 0:
        flat = pc.list_flatten(lists).to_numpy(zero_copy_only=False).astype(np.uint64)
        signatures = list(flat.reshape(len(lengths), -1))
    else:  # signatures of different lengths: each on its own
        signatures = [np.array(s, dtype=np.uint64) for s in lists.to_pylist()]
    rows = zip(
        found["pending"].to_pylist(),
        found["url"].to_pylist(),
        found["cluster_id"].to_pylist(),
        signatures,
        strict=True,
    )
    for url, other, cluster_id, signature in rows:
        candidates.setdefault(url, []).append((other, cluster_id, signature))
    return candidates


def founder_id(url: str) -> int:
    """A new story's cluster id, from its founding article's URL (63 bits of BLAKE2b).

    No counter, so workers committing side by side (DuckLake) never hand out one id twice.
    """
    return int.from_bytes(hashlib.blake2b(url.encode(), digest_size=8).digest()) >> 1


def _assign(
    pending: list[tuple[str, str]],
    signatures: dict[str, np.ndarray],
    bands: dict[str, list[int]],
    known: dict[str, list[tuple[str, int, np.ndarray]]],
) -> list[dict[str, object]]:
    """In fetch order: join the most similar candidate's cluster above the threshold, or found."""
    now = datetime.now(UTC)
    in_batch: dict[tuple[int, int], list[tuple[str, int]]] = {}
    rows = []
    for url, _ in pending:
        signature = signatures[url]
        # Each candidate once, however many bands it shares: url -> (cluster, signature).
        candidates = {other: (cid, sig) for other, cid, sig in known.get(url, [])}
        for band, bucket in enumerate(bands[url]):
            for other, cid in in_batch.get((band, bucket), []):
                candidates.setdefault(other, (cid, signatures[other]))
        cluster_id, score = _best_match(signature, candidates)
        if score < NEAR_DUPLICATE:
            cluster_id, score = founder_id(url), 1.0
        for band, bucket in enumerate(bands[url]):
            in_batch.setdefault((band, bucket), []).append((url, cluster_id))
        rows.append(
            {
                "url": url,
                "cluster_id": cluster_id,
                "similarity": score,
                "minhash": signature.tolist(),
                "assigned_at": now,
                "signature_version": SIGNATURE_VERSION,
            }
        )
    return rows


def _best_match(
    signature: np.ndarray, candidates: dict[str, tuple[int, np.ndarray]]
) -> tuple[int, float]:
    """The cluster of the most similar candidate and its similarity (ties: the highest URL)."""
    if not candidates:
        return 0, 0.0
    urls = sorted(candidates)
    scores = similarities(signature, np.stack([candidates[u][1] for u in urls]))
    best = max(range(len(urls)), key=lambda i: (scores[i], candidates[urls[i]][0], urls[i]))
    return candidates[urls[best]][0], float(scores[best])
