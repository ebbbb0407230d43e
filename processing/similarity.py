"""Near-duplicate detection: MinHash signatures over word shingles, and LSH bands to find pairs.

Pure functions. Two texts whose shingle sets overlap a lot (a repost with a new intro, the same
machine translation of one interview) get signatures that agree in most positions, and then
share at least one band bucket, which is how candidates are found without comparing all pairs.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib

import numpy as np

SHINGLE_WORDS = 3
PERMUTATIONS = 64
BANDS = 16  # of PERMUTATIONS // BANDS rows each: pairs above ~0.5 Jaccard very likely collide
NEAR_DUPLICATE = 0.5  # estimated Jaccard from which two texts tell the same story
# Version 1 hashed each shingle with blake2b in Python; version 2 combines word CRCs in numpy
# and permutes by multiply-shift, without a division.
# Stored signatures of another version are recomputed before new ones are compared with them.
SIGNATURE_VERSION = 2

_rng = np.random.default_rng(20251003)  # fixed: signatures must agree across runs and machines
# Multiply-shift hashing, one (odd a, b) pair per permutation: (a*x + b mod 2**64) >> 32.
_A = _rng.integers(1 << 32, 1 << 63, PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 1 << 63, PERMUTATIONS, dtype=np.uint64)
_SHIFT = np.uint64(32)
# Odd multipliers that mix the word hashes of one shingle by position (mod 2**64).
_MIX = _rng.integers(1 << 32, 1 << 63, SHINGLE_WORDS, dtype=np.uint64) | np.uint64(1)
_WORD = re.compile(r"\w+")
_EMPTY = np.full(PERMUTATIONS, np.iinfo(np.uint64).max, dtype=np.uint64)


def shingle_hashes(text: str) -> np.ndarray:
    """32-bit hashes of the text's runs of SHINGLE_WORDS words (case and Unicode forms
    normalized; a repeated run repeats its hash, which MinHash ignores); a text of fewer words
    is one shingle."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    if not words:
        return np.empty(0, dtype=np.uint64)
    codes = np.fromiter(map(zlib.crc32, map(str.encode, words)), np.uint64, len(words))
    width = min(SHINGLE_WORDS, len(codes))
    count = len(codes) - width + 1
    mixed = np.zeros(count, dtype=np.uint64)
    for position in range(width):
        mixed += codes[position : position + count] * _MIX[position]  # wraps mod 2**64
    return (mixed >> _SHIFT) ^ (mixed & np.uint64(0xFFFFFFFF))


def minhash(text: str) -> np.ndarray:
    """The text's MinHash signature: PERMUTATIONS unsigned 64-bit minima."""
    hashes = shingle_hashes(text)
    if not hashes.size:
        return _EMPTY.copy()
    permuted = (np.outer(_A, hashes) + _B[:, None]) >> _SHIFT  # products wrap mod 2**64
    return permuted.min(axis=1)


def similarity(left: np.ndarray, right: np.ndarray) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    return float(similarities(left, right[None, :])[0])


def similarities(signature: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of one signature to each row of others, at once."""
    if not len(others) or (signature == _EMPTY).all():
        return np.zeros(len(others))
    scores = (others == signature).mean(axis=1)
    scores[(others == _EMPTY).all(axis=1)] = 0.0
    return scores


def band_buckets(signature: np.ndarray) -> list[int]:
    """One 64-bit bucket per LSH band; near-duplicates share at least one with high probability."""
    if (signature == _EMPTY).all():
        return []
    return [
        int.from_bytes(hashlib.blake2b(band.tobytes(), digest_size=8).digest())
        for band in np.split(signature, BANDS)
    ]
