"""Every field of `newsflow extract` beside htmldate and trafilatura, on hand-labelled real pages.

    .venv/bin/python bench/fields.py [--benchmark DIR] [--labels bench/fields/labels.json]

The labels (bench/fields/labels.json) give, for pages of the public article-extraction
benchmark that nobody here wrote, the publication day as each page prints it, its time where
the page prints one with a known zone, and the people of its byline, read by hand from the
page's HTML. They are split by the page's name (its first 8 hex digits even: dev, odd:
held-out), except the pages labelled later with "split": "dev" (odd-named pages added to the
dev half once every first dev page was right): tune on dev, report held-out. For each half and
each tool, in the same run:

- day: accuracy over the labelled pages, and F1 as htmldate's evaluation counts it (a wrong
  day is a false positive, no day a false negative);
- minute: the share of pages printing a zoned time whose instant is found to the minute;
- authors: the share whose set of names is exactly the label's (an empty label: no person);
- text F1: the benchmark's 4-token shingle metric on the same pages.

htmldate is `find_date(extensive_search=True, original_date=True)` with the URL (the call a
user would make); trafilatura is `bare_extraction(with_metadata=True)` with its defaults.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402
from htmldate import find_date  # noqa: E402

from bench.extraction import DEFAULT_BENCHMARK, Page, load, page_precision_recall  # noqa: E402
from connectors.config import Source  # noqa: E402
from processing.fast_xpaths import shipped  # noqa: E402
from processing.page import process_page  # noqa: E402

LABELS = ROOT / "bench" / "fields" / "labels.json"
_SOURCE = Source(id="file", name="benchmark", kind="file", base_url="https://example.com/")


@dataclass(frozen=True)
class Label:
    """What a person read on one page: see the module's docstring."""

    day: date | None
    time: datetime | None
    authors: frozenset[str] | None  # None: not labelled


@dataclass(frozen=True)
class Found:
    """One tool's reading of one page."""

    day: date | None
    moment: datetime | None
    authors: frozenset[str]
    text: str


def _names(names: list[str] | tuple[str, ...]) -> frozenset[str]:
    return frozenset(" ".join(n.split()).casefold() for n in names if n.strip())


def held_out(name: str) -> bool:
    """A benchmark page's half by its name: the first 8 hex digits odd are held out."""
    return int(name[:8], 16) % 2 == 1


def load_labels(path: Path) -> dict[str, tuple[bool, Label]]:
    """Page name -> (held out, label)."""
    pages = json.loads(path.read_text(encoding="utf-8"))["pages"]
    labels = {}
    for name, entry in pages.items():
        authors = entry["authors"]
        labels[name] = (
            entry.get("split") != "dev" and held_out(name),
            Label(
                date.fromisoformat(entry["day"]) if entry["day"] else None,
                datetime.fromisoformat(entry["time"]) if entry["time"] else None,
                None if authors is None else _names(authors),
            ),
        )
    return labels


_NOW = datetime.now(UTC)


def newsflow(page: Page) -> Found:
    """`newsflow extract`'s page path: the day as it prints the date (in the date's own zone)."""
    article = process_page(_SOURCE, page.url, page.html, None, _NOW).article
    if article is None:
        return Found(None, None, frozenset(), "")
    moment = article.published_at
    return Found(
        moment.date() if moment else None,
        moment if article.published_precision == "minute" else None,
        _names(article.authors),
        article.text,
    )


def htmldate(page: Page) -> Found:
    """htmldate as a user calls it for the original publication day, with the URL."""
    found = find_date(page.html, url=page.url, extensive_search=True, original_date=True)
    return Found(date.fromisoformat(found) if found else None, None, frozenset(), "")


def trafilatura_defaults(page: Page) -> Found:
    """trafilatura's metadata and text with its defaults (its date is htmldate's, fast mode)."""
    with shipped():
        document = trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True)
    if document is None:
        return Found(None, None, frozenset(), "")
    day = date.fromisoformat(document.date) if document.date else None
    authors = _names((document.author or "").split(";"))
    return Found(day, None, authors, document.text or "")


TOOLS: dict[str, Callable[[Page], Found]] = {
    "newsflow": newsflow,
    "htmldate": htmldate,
    "trafilatura": trafilatura_defaults,
}


def report(
    half: str, pages: list[tuple[Page, Label]], results: dict[str, list[Found]]
) -> dict[str, dict[str, float]]:
    """Print and return each tool's figures on one half."""
    print(f"\n{half}: {len(pages)} pages")
    print(f"{'':<14}{'day acc':>8}{'day F1':>8}{'minute':>8}{'authors':>8}{'text F1':>8}")
    figures = {}
    for tool, found in results.items():
        dated = [(label, f) for (_, label), f in zip(pages, found, strict=True) if label.day]
        right = sum(f.day == label.day for label, f in dated)
        wrong = sum(f.day is not None and f.day != label.day for label, f in dated)
        missed = sum(f.day is None for _, f in dated)
        precision = right / (right + wrong) if right + wrong else 0.0
        recall = right / (right + missed) if right + missed else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        timed = [(label, f) for label, f in dated if label.time]
        minute = sum(
            f.moment is not None and abs((f.moment - label.time).total_seconds()) < 60
            for label, f in timed
        )
        named = [
            (label, f)
            for (_, label), f in zip(pages, found, strict=True)
            if label.authors is not None
        ]
        authors = sum(f.authors == label.authors for label, f in named)
        pairs = [
            page_precision_recall(p.gold, f.text) for (p, _), f in zip(pages, found, strict=True)
        ]
        p_mean = statistics.mean(p for p, _ in pairs)
        r_mean = statistics.mean(r for _, r in pairs)
        text_f1 = 2 * p_mean * r_mean / (p_mean + r_mean) if p_mean + r_mean else 0.0
        row = {
            "day_accuracy": right / len(dated),
            "day_f1": f1,
            "minute": minute / len(timed) if timed else 0.0,
            "authors": authors / len(named) if named else 0.0,
            "text_f1": text_f1,
        }
        figures[tool] = row
        cells = "".join(f"{value:>8.3f}" for value in row.values())
        if tool == "htmldate":  # htmldate reads dates only
            cells = f"{row['day_accuracy']:>8.3f}{row['day_f1']:>8.3f}{'':>8}{'':>8}{'':>8}"
        print(f"{tool:<14}{cells}")
    print(f"(minute over {len(timed)} pages printing a zoned time; authors over {len(named)})")
    return figures


def main() -> None:
    """Score every tool on both halves of the labelled pages, dev first."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmark", type=Path, default=DEFAULT_BENCHMARK)
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--show", choices=["dev", "held-out"], help="list dev misses (tuning)")
    args = parser.parse_args()
    labels = load_labels(args.labels)
    by_name = {
        name: page
        for name, page in zip(
            sorted(_benchmark_names(args.benchmark)), load(args.benchmark), strict=True
        )
    }
    for half, held_out in (("dev", False), ("held-out", True)):
        pages = [(by_name[n], label) for n, (h, label) in sorted(labels.items()) if h == held_out]
        results = {tool: [run(page) for page, _ in pages] for tool, run in TOOLS.items()}
        report(half, pages, results)
        if args.show == half:
            for (page, label), found in zip(pages, results["newsflow"], strict=True):
                if found.day != label.day or (
                    label.authors is not None and found.authors != label.authors
                ):
                    print(
                        f"  {page.url}\n    label {label.day} {sorted(label.authors or [])}"
                        f"\n    found {found.day} {found.moment} {sorted(found.authors)}"
                    )


def _benchmark_names(benchmark: Path) -> list[str]:
    return list(json.loads((benchmark / "ground-truth.json").read_text(encoding="utf-8")))


if __name__ == "__main__":
    main()
