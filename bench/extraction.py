"""`newsflow extract`'s page path against trafilatura's defaults on the extraction benchmark.

    .venv/bin/python bench/extraction.py [--benchmark DIR] [--no-rules]

Runs the 181 pages of the public article-extraction benchmark (English news and blogs)
through processing.page.process_page, the one page path of `newsflow extract` (decoding,
extraction with the generic boilerplate rules, language detection), and through
trafilatura.extract() with its defaults, in the same run. Prints each one's precision, recall
and F1 with the benchmark's metric, pages/s and the ratio. Then, unless --no-rules, the F1 of
extraction with each generic rule of processing/boilerplate.py left out, so that a rule made
for Russian or Chinese pages is seen to cost nothing on English ones. Target: F1 >= 0.975 at
>= 0.8x trafilatura's pages/s. Not part of the test suite; nothing is tuned on single pages.
The F1 per language of the gold text (a few Russian, Japanese and Korean pages, no Chinese) is
the per-language regression check.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from connectors.config import Source  # noqa: E402
from connectors.decoding import html_text  # noqa: E402
from processing.boilerplate import RULES  # noqa: E402
from processing.extract import ExtractionError, extract  # noqa: E402
from processing.fast_xpaths import install, shipped  # noqa: E402
from processing.language import detect_language  # noqa: E402
from processing.page import process_page  # noqa: E402

DEFAULT_BENCHMARK = ROOT.parent / "shared" / "benchmarks" / "article-extraction-benchmark"
_TOKEN = re.compile(r"\w+")
SHINGLE = 4


@dataclass(frozen=True)
class Page:
    """A benchmark page: its address, decoded HTML and human-checked article body."""

    url: str
    html: str
    gold: str


@dataclass(frozen=True)
class Score:
    """Mean precision and recall over the pages, the F1 of those means, and the speed."""

    precision: float
    recall: float
    pages_per_second: float
    pairs: tuple[tuple[float, float], ...] = ()  # each page's precision and recall

    @property
    def f1(self) -> float:
        """The benchmark's F1: of the two means, not a mean of per-page F1s."""
        return _f1(self.precision, self.recall)


def _f1(precision: float, recall: float) -> float:
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


def load(benchmark: Path) -> list[Page]:
    """The benchmark's pages, decoded as `newsflow extract` decodes a file."""
    gold = json.loads((benchmark / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key, truth in sorted(gold.items()):
        raw = gzip.decompress((benchmark / "html" / f"{key}.html.gz").read_bytes())
        pages.append(Page(truth["url"], html_text(raw), truth["articleBody"]))
    return pages


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text)
    return Counter(tuple(tokens[i : i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1)))


def page_precision_recall(gold: str, predicted: str) -> tuple[float, float]:
    """The benchmark's per-page precision and recall over 4-token shingle multisets."""
    truth, guess = _shingles(gold), _shingles(predicted)
    tp = sum((truth & guess).values())
    fp = sum((guess - truth).values())
    fn = sum((truth - guess).values())
    if fp == fn == 0:
        return 1.0, 1.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall


def score(pages: list[Page], *extractors: Callable[[Page], str]) -> list[Score]:
    """Run the extractors page by page, interleaved, timing each one's extraction only.

    Interleaving keeps the ratio fair on a shared machine: a burst of load slows both alike.
    """
    outputs: list[list[str]] = [[] for _ in extractors]
    elapsed = [0.0] * len(extractors)
    for page in pages:
        for i, extractor in enumerate(extractors):
            started = time.perf_counter()
            outputs[i].append(extractor(page))
            elapsed[i] += time.perf_counter() - started
    scores = []
    for texts, seconds in zip(outputs, elapsed, strict=True):
        pairs = [page_precision_recall(p.gold, out) for p, out in zip(pages, texts, strict=True)]
        scores.append(
            Score(
                statistics.mean(p for p, _ in pairs),
                statistics.mean(r for _, r in pairs),
                len(pages) / seconds,
                tuple(pairs),
            )
        )
    return scores


def trafilatura_defaults(page: Page) -> str:
    """trafilatura.extract() as shipped, with its own XPaths: the baseline."""
    with shipped():
        return trafilatura.extract(page.html, url=page.url) or ""


_SOURCE = Source(id="file", name="benchmark", kind="file", base_url="https://example.com/")
_NOW = datetime.now(UTC)


def newsflow(page: Page) -> str:
    """The page path of `newsflow extract`: an empty text where it finds no article."""
    article = process_page(_SOURCE, page.url, page.html, None, _NOW).article
    return article.text if article else ""


def without(rules: frozenset[str]) -> Callable[[Page], str]:
    """Extraction with some generic rules left out."""

    def run(page: Page) -> str:
        try:
            return extract(page.html, page.url, skip_rules=rules).text
        except ExtractionError:
            return ""

    return run


def by_language(pages: list[Page], base: Score, ours: Score) -> None:
    """F1 per language of the gold text (as detected here), newsflow beside trafilatura: the
    regression check for the languages the benchmark holds (a few ru, ja and ko pages)."""
    languages: dict[str, list[int]] = {}
    for i, page in enumerate(pages):
        languages.setdefault(detect_language(page.gold) or "?", []).append(i)
    print(f"\n{'language':<10}{'pages':>6}{'newsflow F1':>13}{'trafilatura F1':>16}")
    for language, indexes in sorted(languages.items(), key=lambda item: -len(item[1])):
        cells = []
        for score_ in (ours, base):
            pairs = [score_.pairs[i] for i in indexes]
            mean_p = statistics.mean(p for p, _ in pairs)
            cells.append(_f1(mean_p, statistics.mean(r for _, r in pairs)))
        print(f"{language:<10}{len(indexes):>6}{cells[0]:>13.3f}{cells[1]:>16.3f}")


def main() -> None:
    """Print the comparison, then the effect of each rule."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmark", type=Path, default=DEFAULT_BENCHMARK)
    parser.add_argument("--no-rules", action="store_true", help="skip the per-rule effects")
    args = parser.parse_args()
    install()  # the page workers' XPaths, as a run uses them
    pages = load(args.benchmark)
    newsflow(pages[0])  # warm-up: imports and language profiles, for both sides alike
    trafilatura_defaults(pages[0])
    base, ours = score(pages, trafilatura_defaults, newsflow)
    print(f"{len(pages)} pages of {args.benchmark.name}")
    print(f"{'':<28}{'precision':>10}{'recall':>8}{'F1':>8}{'pages/s':>9}")
    for name, s in (("trafilatura defaults", base), ("newsflow extract", ours)):
        row = f"{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>8.3f}{s.pages_per_second:>9.1f}"
        print(f"{name:<28}{row}")
    speed = ours.pages_per_second / base.pages_per_second
    print(f"F1 {ours.f1:.3f} (target >= 0.975); speed {speed:.2f}x trafilatura (target >= 0.8x)")
    by_language(pages, base, ours)
    if args.no_rules:
        return
    full, bare = score(pages, without(frozenset()), without(frozenset(RULES)))
    print("\nEach generic rule's effect (extraction alone, no language detection; all rules:")
    print(f"F1 {full.f1:.4f}). 'F1 added' is what the rule adds: negative where it costs.")
    print(f"{'left out':<22}{'precision':>10}{'recall':>8}{'F1':>8}{'F1 added':>10}")
    for rule in RULES:
        (s,) = score(pages, without(frozenset((rule,))))
        print(f"{rule:<22}{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>8.4f}{full.f1 - s.f1:>+10.4f}")
    row = f"{bare.precision:>10.3f}{bare.recall:>8.3f}{bare.f1:>8.4f}{full.f1 - bare.f1:>+10.4f}"
    print(f"{'all of them':<22}{row}")
    cost = full.pages_per_second / bare.pages_per_second
    print(f"speed with the rules {cost:.2f}x of without ({full.pages_per_second:.1f} pages/s)")


if __name__ == "__main__":
    main()
