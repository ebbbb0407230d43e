"""Language detection as configured against langdetect's defaults: same answers, time ratio.

    .venv/bin/python bench/language.py [--benchmark DIR]  # default: the shared benchmark

Reads the benchmark's 181 human-checked article texts (English) and the multilingual labelled
paragraphs of tests/test_language.py repeated to article length, detects each as configured
(SAMPLE_CHARS characters, TRIALS random trials) and with langdetect's defaults (10,000
characters, 7 trials) in the same run, and prints how many answers agree and the speed ratio.
Then langdetect's own Detector against processing.ngram_detector's on the configured samples:
how many give equal probabilities, and the speed ratio. Not part of the test suite.
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

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory  # noqa: E402
from test_language import LABELLED  # noqa: E402

from processing import language  # noqa: E402
from processing.ngram_detector import NgramDetectorFactory  # noqa: E402

DEFAULT_BENCHMARK = ROOT.parent / "shared" / "benchmarks" / "article-extraction-benchmark"
LONG_SAMPLE = 10_000  # langdetect's own max_text_length
DEFAULT_TRIALS = 7  # langdetect's own n_trial


def texts(benchmark: Path) -> list[str]:
    """The benchmark's gold article bodies, then each labelled paragraph grown to ~6,000 chars."""
    gold = json.loads((benchmark / "ground-truth.json").read_text(encoding="utf-8"))
    found = [page["articleBody"] for page in gold.values() if page.get("articleBody")]
    for paragraphs in LABELLED.values():
        for paragraph in paragraphs:
            found.append(" ".join([paragraph] * (6_000 // len(paragraph) + 1)))
    return found


def detect_all(items: list[str], sample: int, trials: int) -> tuple[list[str], float]:
    """Every text's language with this sample size and number of trials, and the seconds."""
    language.SAMPLE_CHARS, language.TRIALS = sample, trials
    began = time.perf_counter()
    answers = [language.detect_language(text) for text in items]
    return answers, time.perf_counter() - began


def probabilities(factory: DetectorFactory, items: list[str]) -> tuple[list[object], float]:
    """Each text's language probabilities from the factory's detectors, and the seconds."""
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)
    began = time.perf_counter()
    found = []
    for text in items:
        detector = factory.create()
        detector.n_trial = language.TRIALS
        detector.append(text[: language.SAMPLE_CHARS])
        detector.get_probabilities()
        found.append(detector.langprob)
    return found, time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", type=Path, default=DEFAULT_BENCHMARK)
    args = parser.parse_args(argv)
    items = texts(args.benchmark)
    ours = (language.SAMPLE_CHARS, language.TRIALS)
    detect_all(items[:5], *ours)  # load the profiles outside the timings
    default, default_seconds = detect_all(items, LONG_SAMPLE, DEFAULT_TRIALS)
    short, short_seconds = detect_all(items, *ours)
    same = sum(a == b for a, b in zip(default, short, strict=True))
    print(
        f"{len(items)} texts: {same} same answers with {ours[0]} chars x {ours[1]} trials "
        f"and langdetect's {LONG_SAMPLE} x {DEFAULT_TRIALS}"
    )
    print(
        f"ms per text: {1000 * default_seconds / len(items):.2f} with the defaults, "
        f"{1000 * short_seconds / len(items):.2f} as configured "
        f"({default_seconds / short_seconds:.1f}x faster)"
    )
    own, own_seconds = probabilities(DetectorFactory(), items)
    fast, fast_seconds = probabilities(NgramDetectorFactory(), items)
    equal = sum(a == b for a, b in zip(own, fast, strict=True))
    print(
        f"langdetect's Detector vs processing.ngram_detector: {equal} of {len(items)} equal "
        f"probabilities; ms per text {1000 * own_seconds / len(items):.2f} vs "
        f"{1000 * fast_seconds / len(items):.2f} ({own_seconds / fast_seconds:.1f}x faster)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
