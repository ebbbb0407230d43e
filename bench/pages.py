"""The page workers' per-page CPU cost, by stage, and the articles they make, for A/B checks.

    .venv/bin/python bench/pages.py stages [--pages 300] [--tree DIR]
    .venv/bin/python bench/pages.py workers [--pages 1000] [--tree DIR]
    .venv/bin/python bench/pages.py snapshot OUT.json [--tree DIR]
    .venv/bin/python bench/pages.py compare A.json B.json

- stages: process_page over the first N copies of the ingest corpus (bench/corpus.py, decoded
  as a fetch decodes them), in this process, each stage's CPU time read around its call (a
  stage's time includes the stages it calls; the table says which), and the bare script's
  call (`trafilatura.extract(text)`, bench/minimal_ingest.py) on the same pages interleaved;
  plus pickling each batch to a worker and its results back.
- workers: the same pages through pipeline.pages.PageProcessor with two worker processes, as
  ingest sends them (batches of 8), the workers' own CPU read from /proc: CPU ms a page.
- snapshot: every field of the article (or the outcome) that process_page makes of each page
  of the fixture site, tests/pages, and the 181 extraction-benchmark pages, at a fixed clock:
  two snapshots equal mean the same articles (text, title, dates, authors, language, hash...).
- --tree runs another checkout's code (e.g. the tree before a change) with this harness.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import pickle
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # a fixed clock: dates are judged against it
BENCHMARK = ROOT.parent / "shared/benchmarks/article-extraction-benchmark"
SERVED = "text/html; charset=utf-8"  # the corpus server's header
FETCHED = "text/html"  # the content type a fetch hands on

# (module, function, stage): each is timed where it is called from (its module's name for it).
STAGES = [
    ("processing.page", "_parsed_or_listed", "parse + extract (whole)"),
    ("processing.extract", "parse_html", "  HTML parse"),
    ("processing.extract", "_metas", "  meta tags"),
    ("processing.extract", "named_elements", "  class/id scan"),
    ("processing.extract", "page_clues", "  date clues"),
    ("processing.extract", "paywall_marker", "  paywall"),
    ("processing.extract", "clean_tree", "  generic tree rules"),
    ("processing.extract", "json_ld_authors", "  JSON-LD authors"),
    ("processing.extract", "_title_and_author", "  title and byline"),
    ("processing.extract", "join_story_chunks", "  story chunks"),
    ("processing.extract", "_article_text", "  main text (bare_extraction + line rules)"),
    ("processing.extract", "clean_lines", "    line rules"),
    ("processing.page", "parseable", "control characters (parseable)"),
    ("processing.page", "terminal_safe", "terminal_safe"),
    ("processing.page", "article_language", "language detection"),
    ("processing.page", "_publication", "publication date (whole)"),
    ("processing.article", "_htmldate", "  htmldate extensive search"),
    ("processing.page", "article_identity", "identity (canonical URL)"),
    ("processing.page", "content_hash", "content hash"),
    ("processing.page", "stored_field", "stored fields"),
    ("processing.page", "same_site_editions", "editions (hreflang)"),
]


def _use_tree(tree: Path) -> None:
    sys.path.insert(0, str(tree))
    sys.path.insert(1, str(ROOT))  # bench.corpus from this harness when the tree has none


def corpus(count: int) -> list[str]:
    """The first `count` copies of the ingest corpus, decoded as a fetch decodes them."""
    from bench.corpus import page, real_pages
    from connectors.decoding import decode_body

    parts = real_pages(BENCHMARK)
    return [decode_body(page(parts, n), SERVED) for n in range(count)]


def _source() -> Any:
    """The ingest bench's source (a sitemap source on 127.0.0.1), as a run loads it."""
    from connectors.config import Source

    return Source(
        id="bench",
        name="Benchmark corpus",
        kind="sitemap",
        base_url="http://127.0.0.1:8000",
        options={"sitemap_url": "http://127.0.0.1:8000/sitemap.xml"},
        language="en",
        allow_hosts=("127.0.0.1:8000",),
    )


def _url(n: int) -> str:
    return f"http://127.0.0.1:8000/a/{n}.html"


@contextmanager
def timed(stages: list[tuple[str, str, str]], totals: dict[str, float]) -> Iterator[None]:
    """Each stage's function wrapped to add its CPU time to totals[stage] while inside."""
    import importlib

    saved = []
    for module_name, name, label in stages:
        module = importlib.import_module(module_name)
        if not hasattr(module, name):
            continue
        original = getattr(module, name)

        def wrapper(*args: Any, _f: Callable = original, _l: str = label, **kw: Any) -> Any:
            start = time.process_time()
            try:
                return _f(*args, **kw)
            finally:
                totals[_l] += time.process_time() - start

        saved.append((module, name, original))
        setattr(module, name, wrapper)
    try:
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


def stages(count: int) -> None:
    """Print each stage's CPU ms a page, the page path's and the bare script's call."""
    import trafilatura

    from pipeline.pages import within_budget
    from processing.fast_xpaths import install

    install()
    source, pages = _source(), corpus(count)
    inputs = [(_url(n), html, FETCHED, NOW, None, None, None, None) for n, html in enumerate(pages)]
    within_budget(source, inputs[0])  # warm-up: lazy imports and the language profiles
    trafilatura.extract(pages[0])
    totals: dict[str, float] = defaultdict(float)
    whole, script, results = [], [], []
    with timed(STAGES, totals):
        for page_input, html in zip(inputs, pages, strict=True):
            start = time.process_time()
            results.append(within_budget(source, page_input))
            whole.append(time.process_time() - start)
            start = time.process_time()
            trafilatura.extract(html)
            script.append(time.process_time() - start)
    start = time.process_time()
    for i in range(0, len(inputs), 8):
        pickle.loads(pickle.dumps((source, inputs[i : i + 8])))
    sent = time.process_time() - start
    start = time.process_time()
    for i in range(0, len(results), 8):
        pickle.loads(pickle.dumps(results[i : i + 8]))
    back = time.process_time() - start
    page_ms = 1000 * sum(whole) / count
    print(f"{count} corpus pages; load average {os.getloadavg()[0]:.1f}")
    print(f"{'stage':<52}{'ms/page':>8}{'share':>7}")
    for _, _, label in STAGES:
        print(f"{label:<52}{1000 * totals[label] / count:>8.2f}{totals[label] / sum(whole):>7.1%}")
    print(f"{'pickling pages to a worker (both ends)':<52}{1000 * sent / count:>8.2f}")
    print(f"{'pickling results back (both ends)':<52}{1000 * back / count:>8.2f}")
    outcomes = Counter(r.outcome for r in results)
    print(f"outcomes: {', '.join(f'{k} {v}' for k, v in outcomes.items())}")
    print(f"{'process_page, whole (CPU ms/page)':<52}{page_ms:>8.2f}")
    script_ms = 1000 * sum(script) / count
    print(f"{'trafilatura.extract(text), the script (ms/page)':<52}{script_ms:>8.2f}")
    median = statistics.median(w / s for w, s in zip(whole, script, strict=True))
    print(f"page path / script: {page_ms / script_ms:.2f}x (median page {median:.2f}x)")


def workers(count: int) -> None:
    """The pages through two page workers as ingest sends them: the workers' CPU ms a page."""
    import asyncio

    from pipeline.pages import PageProcessor

    source, pages = _source(), corpus(count)
    inputs = [(_url(n), html, FETCHED, NOW, None, None, None, None) for n, html in enumerate(pages)]
    with PageProcessor(workers=2) as processor:
        asyncio.run(processor.process(source, inputs[:32]))  # start the workers, warm them
        pids = list(processor._pool._processes)  # noqa: SLF001 - a bench reads the workers
        before = sum(map(_cpu_seconds, pids))
        wall = time.perf_counter()
        for i in range(0, count, 200):  # ingest's chunks
            asyncio.run(processor.process(source, inputs[i : i + 200]))
        wall = time.perf_counter() - wall
        spent = sum(map(_cpu_seconds, pids)) - before
    print(f"{count} pages, 2 workers: {1000 * spent / count:.2f} CPU ms a page in the workers, ")
    print(f"{wall:.1f} s wall; load average {os.getloadavg()[0]:.1f}")


def _cpu_seconds(pid: int) -> float:
    """A process's user + system CPU seconds, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fixture_pages() -> list[tuple[str, str, str, bytes]]:
    """(name, source id, path or URL, body) of every HTML file of the fixture site and
    tests/pages (a path under its source), and of the extraction benchmark's pages."""
    found = []
    for directory, prefix in ((ROOT / "fixture_site/site", True), (ROOT / "tests/pages", False)):
        for path in sorted(directory.rglob("*.html")):
            relative = path.relative_to(directory)
            source_id = relative.parts[0] if prefix else "file"
            under = "/".join(relative.parts[1:] if prefix else relative.parts)
            found.append((f"{directory.name}/{relative}", source_id, under, path.read_bytes()))
    truth = json.loads((BENCHMARK / "ground-truth.json").read_text(encoding="utf-8"))
    for digest, entry in sorted(truth.items()):
        body = gzip.decompress((BENCHMARK / "html" / f"{digest}.html.gz").read_bytes())
        found.append((f"benchmark/{digest}", "file", entry.get("url") or "", body))
    return found


def snapshot(out: Path) -> None:
    """Write every page's result, all fields, to out (JSON): see the module's docstring."""
    from bench.corpus import real_pages
    from connectors.config import Source, load_sources
    from connectors.decoding import decode
    from pipeline.pages import within_budget
    from processing.fast_xpaths import install

    install()
    named = {s.id: s for s in load_sources(ROOT / "sources.yaml")}
    plain = Source(id="file", name="file", kind="file", base_url="https://example.com/")
    results = {}
    for name, source_id, path, body in fixture_pages():
        text, charset = decode(body, "")
        source = named.get(source_id, plain)
        page_input = (source.url(path), text, None, NOW, None, None, charset, None)
        result = within_budget(source, page_input)
        results[name] = _plain(result)
    source = _source()  # the ingest bench's, for the copies it serves
    for n, html in enumerate(corpus(len(real_pages(BENCHMARK)))):
        page_input = (_url(n), html, FETCHED, NOW, None, None, None, None)
        results[f"corpus/{n}"] = _plain(within_budget(source, page_input))
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1, sort_keys=True))
    print(f"{len(results)} pages -> {out}")


def _plain(value: Any) -> Any:
    """A result as JSON values, every field kept."""
    if is_dataclass(value):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


def compare(first: Path, second: Path) -> int:
    """Print the pages whose results differ; 1 where any does."""
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (first, second))
    differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    for name in differ:
        left, right = a.get(name) or {}, b.get(name) or {}
        fields = _differing(left, right)
        print(f"{name}: {', '.join(fields)}")
    ok = sum(1 for r in a.values() if r.get("article"))
    print(f"{len(a)} pages ({ok} articles), {len(differ)} differ")
    return 1 if differ else 0


def _differing(left: dict, right: dict, prefix: str = "") -> list[str]:
    names = []
    for key in sorted(left.keys() | right.keys()):
        x, y = left.get(key), right.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            names += _differing(x, y, f"{prefix}{key}.")
        elif x != y:
            names.append(f"{prefix}{key}")
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("stages", "workers", "snapshot", "compare"))
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose code runs")
    args = parser.parse_args()
    _use_tree(args.tree.resolve())
    if args.mode == "compare":
        return compare(*args.files)
    if args.mode == "snapshot":
        snapshot(args.files[0])
    elif args.mode == "stages":
        stages(args.pages)
    else:
        workers(args.pages)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
