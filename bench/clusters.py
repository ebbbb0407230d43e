"""Story clustering before and after: MinHash signatures and candidate scoring, in one run.

    .venv/bin/python bench/clusters.py [--articles 10000] [--repeat 3]

The baseline is the code as it was at BASELINE (blake2b per shingle in Python; each candidate
scored once per shared LSH band, one pair at a time), read from git history so the two run on
the same synthetic stories, a third of them lightly edited reposts. Prints articles/s of each
and the ratio, and how many clusters each finds. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import inspect
import random
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from processing import similarity  # noqa: E402
from warehouse import clusters  # noqa: E402

BASELINE = "d32579f"  # the last commit before the vectorized MinHash and single-visit scoring
_VOCABULARY = (
    "government minister village river bridge court police election protest border region "
    "school hospital market oil gas pipeline president parliament journalist festival storm "
    "flood road council farmers prices bank army security meeting report said today"
)
WORDS = _VOCABULARY.split()


def baseline_modules() -> tuple[types.ModuleType, types.ModuleType]:
    """processing.similarity and warehouse.clusters as they were at BASELINE."""
    loaded = []
    for path, name in (
        ("processing/similarity.py", "baseline_similarity"),
        ("warehouse/clusters.py", "baseline_clusters"),
    ):
        source = subprocess.run(
            ["git", "show", f"{BASELINE}:{path}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        source = source.replace(
            "from processing.similarity import", "from baseline_similarity import"
        )
        module = types.ModuleType(name)
        sys.modules[name] = module
        exec(compile(source, f"{BASELINE}:{path}", "exec"), module.__dict__)
        loaded.append(module)
    return loaded[0], loaded[1]


def stories(count: int, seed: int = 11) -> list[tuple[str, str]]:
    """(url, text) of ~150-word stories; every third is a repost of an earlier one, edited."""
    rng = random.Random(seed)
    made: list[tuple[str, str]] = []
    for i in range(count):
        if i % 3 == 2:
            words = made[rng.randrange(len(made))][1].split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            text = "Reposted: " + " ".join(words)
        else:
            text = " ".join(rng.choices(WORDS, k=150)) + f" story {i}"
        made.append((f"https://example.org/{i}", text))
    return made


def timed(action: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median seconds over repeat runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def assign(module: types.ModuleType, sim: types.ModuleType, pending: list[tuple[str, str]]):
    """One module's signatures, bands and assignment of a whole batch (nothing stored before)."""
    signatures = {url: sim.minhash(text) for url, text in pending}
    bands = {url: sim.band_buckets(s) for url, s in signatures.items()}
    began = time.perf_counter()
    counter = [1] if "next_id" in inspect.signature(module._assign).parameters else []
    rows = module._assign(pending, signatures, bands, {}, *counter)  # older: max+1 ids
    return time.perf_counter() - began, {row["url"]: row["cluster_id"] for row in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    old_similarity, old_clusters = baseline_modules()
    pending = stories(args.articles)
    texts = [text for _, text in pending]

    old, _ = timed(lambda: [old_similarity.minhash(t) for t in texts], args.repeat)
    new, _ = timed(lambda: [similarity.minhash(t) for t in texts], args.repeat)
    print(f"MinHash   baseline {len(texts) / old:9.0f} articles/s   now {len(texts) / new:9.0f}")
    print(f"          ratio now/baseline: {old / new:.1f}x faster")

    old_assign, old_groups = assign(old_clusters, old_similarity, pending)
    new_assign, new_groups = assign(clusters, similarity, pending)
    print(f"_assign   baseline {old_assign:8.2f} s   now {new_assign:8.2f} s")
    print(f"          ratio now/baseline: {old_assign / new_assign:.1f}x faster")
    counts = [len(set(groups.values())) for groups in (old_groups, new_groups)]
    print(f"clusters from {len(pending)} articles: baseline {counts[0]}, now {counts[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
