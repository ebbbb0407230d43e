"""Near-duplicate detection: MinHash signatures over word shingles, and LSH bands to find pairs.

Pure functions. Two texts whose shingle sets overlap a lot (a repost with a new intro, the same
machine translation of one interview) get signatures that agree in most positions, and then
share at least one band bucket, which is how candidates are found without comparing all pairs.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

SHINGLE_WORDS = 3
PERMUTATIONS = 64
BANDS = 16  # of PERMUTATIONS // BANDS rows each: pairs above ~0.5 Jaccard very likely collide
NEAR_DUPLICATE = 0.5  # estimated Jaccard from which two texts tell the same story

_PRIME = np.uint64((1 << 61) - 1)
_rng = np.random.default_rng(20251003)  # fixed: signatures must agree across runs and machines
_A = _rng.integers(1, 1 << 32, PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, 1 << 32, PERMUTATIONS, dtype=np.uint64)
_WORD = re.compile(r"\w+")
_EMPTY = np.full(PERMUTATIONS, np.iinfo(np.uint64).max, dtype=np.uint64)


def shingles(text: str) -> set[str]:
    """Overlapping runs of SHINGLE_WORDS words, case and Unicode forms normalized."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    if len(words) <= SHINGLE_WORDS:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def minhash(text: str) -> np.ndarray:
    """The text's MinHash signature: PERMUTATIONS unsigned 64-bit minima."""
    found = shingles(text)
    if not found:
        return _EMPTY.copy()
    hashes = np.fromiter(
        (int.from_bytes(hashlib.blake2b(s.encode(), digest_size=4).digest()) for s in found),
        dtype=np.uint64,
        count=len(found),
    )
    # Universal hashing (a*x + b) mod p, one row per permutation; a, x < 2**32 cannot overflow.
    permuted = (np.outer(_A, hashes) % _PRIME + _B[:, None]) % _PRIME
    return permuted.min(axis=1)


def similarity(left: np.ndarray, right: np.ndarray) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    if (left == _EMPTY).all() or (right == _EMPTY).all():
        return 0.0
    return float(np.mean(left == right))


def band_buckets(signature: np.ndarray) -> list[int]:
    """One 64-bit bucket per LSH band; near-duplicates share at least one with high probability."""
    if (signature == _EMPTY).all():
        return []
    return [
        int.from_bytes(hashlib.blake2b(band.tobytes(), digest_size=8).digest())
        for band in np.split(signature, BANDS)
    ]
