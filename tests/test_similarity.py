"""Near-duplicate signatures: what reads as one story collides, what does not stays apart."""

from processing.similarity import (
    BANDS,
    NEAR_DUPLICATE,
    band_buckets,
    minhash,
    shingles,
    similarity,
)

STORY = (
    "The regional court sentenced the journalist to two years in a penal colony on Tuesday, "
    "his lawyer said, adding that the defence would appeal the verdict in the supreme court "
    "because the prosecution had presented no evidence of the alleged extortion."
)
OTHER = (
    "Heavy snow blocked the mountain pass for a second day and about three hundred trucks "
    "are waiting at the border crossing, the transport ministry reported on its website."
)


def test_shingles_ignore_case_punctuation_and_spacing():
    assert shingles("The  Court, said.") == shingles("the court said") == {"the court said"}
    assert shingles("a b c d") == {"a b c", "b c d"}
    assert shingles("   ") == set()


def test_a_lightly_edited_repost_is_a_near_duplicate_and_shares_a_band():
    repost = "Reposted from Caucasian Knot: " + STORY.replace("Tuesday", "Tuesday evening")
    left, right = minhash(STORY), minhash(repost)
    assert similarity(left, right) >= NEAR_DUPLICATE
    assert set(band_buckets(left)) & set(band_buckets(right))
    assert similarity(left, minhash(STORY)) == 1.0


def test_unrelated_stories_are_far_apart():
    assert similarity(minhash(STORY), minhash(OTHER)) < 0.2
    assert len(band_buckets(minhash(STORY))) == BANDS


def test_empty_text_matches_nothing():
    assert similarity(minhash(""), minhash("")) == 0.0
    assert band_buckets(minhash("")) == []
