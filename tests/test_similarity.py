"""Near-duplicate signatures and story clusters: what reads as one story collides and lands in
one cluster, what does not stays apart, and clusters survive a change of signature scheme."""

from datetime import UTC, datetime

import numpy as np

from connectors.config import Revisit
from connectors.records import FetchAttempt, Outcome
from processing.dedup import content_hash
from processing.records import Article, Translation, UrlResult
from processing.similarity import (
    BANDS,
    NEAR_DUPLICATE,
    SIGNATURE_VERSION,
    band_buckets,
    minhash,
    shingle_hashes,
    similarities,
    similarity,
)
from warehouse import store
from warehouse.clusters import assign_clusters
from warehouse.interface import DuckDBWarehouse
from warehouse.loads import RunKey

STORY = (
    "The regional court sentenced the journalist to two years in a penal colony on Tuesday, "
    "his lawyer said, adding that the defence would appeal the verdict in the supreme court "
    "because the prosecution had presented no evidence of the alleged extortion."
)
OTHER = (
    "Heavy snow blocked the mountain pass for a second day and about three hundred trucks "
    "are waiting at the border crossing, the transport ministry reported on its website."
)
REPOST = "Reposted from Caucasian Knot: " + STORY.replace("Tuesday", "Tuesday evening")
NOW = datetime(2025, 10, 3, 12, 0, tzinfo=UTC)


def test_case_punctuation_and_spacing_do_not_change_a_signature():
    assert (minhash("The  Court, said.") == minhash("the court said")).all()
    assert len(shingle_hashes("a b c d")) == 2
    assert len(shingle_hashes("a b")) == 1
    assert len(shingle_hashes("   ")) == 0


def test_a_lightly_edited_repost_is_a_near_duplicate_and_shares_a_band():
    left, right = minhash(STORY), minhash(REPOST)
    assert similarity(left, right) >= NEAR_DUPLICATE
    assert set(band_buckets(left)) & set(band_buckets(right))
    assert similarity(left, minhash(STORY)) == 1.0


def test_unrelated_stories_are_far_apart():
    assert similarity(minhash(STORY), minhash(OTHER)) < 0.2
    assert len(band_buckets(minhash(STORY))) == BANDS


def test_one_signature_is_compared_with_many_at_once():
    others = np.stack([minhash(REPOST), minhash(OTHER), minhash("")])
    scores = similarities(minhash(STORY), others)
    assert scores.tolist() == [similarity(minhash(STORY), row) for row in others]
    assert scores[0] >= NEAR_DUPLICATE and scores[2] == 0.0


def test_empty_text_matches_nothing():
    assert similarity(minhash(""), minhash("")) == 0.0
    assert band_buckets(minhash("")) == []


def _article(url: str, text: str, source_id: str = "caucasian-knot") -> Article:
    return Article(
        source_id=source_id,
        url=url,
        title="t",
        text=text,
        language="en",
        fetched_at=NOW,
        content_hash=content_hash(text),
        published_at=NOW,
        translation=Translation("not_needed", "t", text),
    )


def _ingest(warehouse: DuckDBWarehouse, *articles: Article) -> None:
    results = [
        UrlResult(FetchAttempt(a.source_id, a.url, Outcome.OK, NOW, 200, "text/html"), a)
        for a in articles
    ]
    warehouse.commit_chunk(RunKey("r"), results, lambda _: Revisit(), NOW)


def _clusters(path) -> dict[str, int]:
    with store.connect(path, read_only=True) as conn:
        return dict(conn.execute("select url, cluster_id from story_clusters").fetchall())


def test_reposts_in_one_load_and_across_loads_join_the_story_cluster(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    _ingest(warehouse, _article("https://k/1", STORY), _article("https://k/2", OTHER))
    _ingest(warehouse, _article("https://t/1", REPOST, "toutiao"))
    clusters = _clusters(warehouse.path)
    assert clusters["https://t/1"] == clusters["https://k/1"] != clusters["https://k/2"]


def test_signatures_of_an_older_scheme_are_recomputed_and_clusters_kept(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    _ingest(warehouse, _article("https://k/1", STORY), _article("https://k/2", OTHER))
    before = _clusters(warehouse.path)
    with store.connect(warehouse.path) as conn:  # as a warehouse made before version 2 has it
        conn.execute("update story_clusters set minhash = [1, 2, 3], signature_version = 1")
        conn.execute("update minhash_bands set bucket = 0")
    _ingest(warehouse, _article("https://t/1", REPOST, "toutiao"))
    after = _clusters(warehouse.path)
    assert after["https://t/1"] == before["https://k/1"]
    assert {u: after[u] for u in before} == before
    with store.connect(warehouse.path) as conn:
        assert conn.execute("select distinct signature_version from story_clusters").fetchall() == [
            (SIGNATURE_VERSION,)
        ]
        assert assign_clusters(conn) == 0
