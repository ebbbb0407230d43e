"""Language detection on a 2,000-character sample against 10,000: same answers, time ratio.

    .venv/bin/python bench/language.py [--benchmark DIR]  # default: the shared benchmark

Reads the benchmark's 181 human-checked article texts (English) and the multilingual labelled
paragraphs of tests/test_language.py repeated to article length, detects each with the
sample at SAMPLE_CHARS and at 10,000 characters in the same run, and prints how many answers
agree and the speed ratio. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_language import LABELLED  # noqa: E402

from processing import language  # noqa: E402

DEFAULT_BENCHMARK = ROOT.parent / "shared" / "benchmarks" / "article-extraction-benchmark"
LONG_SAMPLE = 10_000


def texts(benchmark: Path) -> list[str]:
    """The benchmark's gold article bodies, then each labelled paragraph grown to ~6,000 chars."""
    gold = json.loads((benchmark / "ground-truth.json").read_text(encoding="utf-8"))
    found = [page["articleBody"] for page in gold.values() if page.get("articleBody")]
    for paragraphs in LABELLED.values():
        for paragraph in paragraphs:
            found.append(" ".join([paragraph] * (6_000 // len(paragraph) + 1)))
    return found


def detect_all(items: list[str], sample: int) -> tuple[list[str], float]:
    """Every text's language with this sample size, and the seconds it took."""
    language.SAMPLE_CHARS = sample
    began = time.perf_counter()
    answers = [language.detect_language(text) for text in items]
    return answers, time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", type=Path, default=DEFAULT_BENCHMARK)
    args = parser.parse_args(argv)
    items = texts(args.benchmark)
    short_sample = language.SAMPLE_CHARS
    detect_all(items[:5], short_sample)  # load the profiles outside the timings
    long, long_seconds = detect_all(items, LONG_SAMPLE)
    short, short_seconds = detect_all(items, short_sample)
    same = sum(a == b for a, b in zip(long, short, strict=True))
    print(f"{len(items)} texts: {same} same answers with {short_sample} and {LONG_SAMPLE} chars")
    print(
        f"ms per text: {1000 * long_seconds / len(items):.2f} at {LONG_SAMPLE}, "
        f"{1000 * short_seconds / len(items):.2f} at {short_sample} "
        f"({long_seconds / short_seconds:.1f}x faster)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
