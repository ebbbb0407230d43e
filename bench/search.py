"""Search index refresh on a big warehouse: full rebuild vs no-op vs 100 new or changed articles.

    .venv/bin/python bench/search.py [--articles 200000] [--added 100]

Builds a warehouse of synthetic Russian, Chinese, Azerbaijani and English articles (Russian and
Chinese ones with an English translation), indexes it from scratch (the baseline: what a
rebuild after every run costs), then times in the same run: a refresh that finds nothing
new, a refresh after adding articles, a refresh after translations updated as many, and a few
queries. Prints each against the full rebuild as a ratio. Target: 100 new articles over 200k
refresh in < 2 s. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from warehouse import store  # noqa: E402
from warehouse.search import rebuild_index, refresh_index, search  # noqa: E402
from warehouse.sql import registered  # noqa: E402

_WORDS = {
    "ru": "Москва Москвы Баку суд журналист граница переговоры президент министр выборы "
    "наводнение мост село полиция рынок нефть газ трубопровод регион заявление",
    "az": "Azərbaycan Bakı prezident nazir məhkəmə jurnalist sərhəd danışıqlar seçki "
    "daşqın körpü kənd polis bazar neft qaz boru region bəyanat",
    "zh": "阿塞拜疆 俄罗斯 总统 外交部 法院 记者 边境 谈判 选举 洪水 大桥 村庄 警察 市场 "
    "石油 天然气 管道 地区 声明",
    "en": "Moscow Baku court journalist border talks president minister election flood "
    "bridge village police market oil gas pipeline region statement said",
}
VOCABULARY = {language: words.split() for language, words in _WORDS.items()}
LANGUAGES = ("ru", "zh", "az", "en")


def articles(start: int, count: int, words: int, seed: int) -> pa.Table:
    """Synthetic stories: an original of `words` words, and an English translation of as many."""
    rng = random.Random(seed)
    day = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(start, start + count):
        language = LANGUAGES[i % len(LANGUAGES)]
        joiner = "" if language == "zh" else " "
        text = joiner.join(rng.choices(VOCABULARY[language], k=words)) + f" {i}"
        translated = language in ("ru", "zh")
        text_en = " ".join(rng.choices(VOCABULARY["en"], k=words)) if translated else None
        moment = day + timedelta(minutes=3 * i)
        rows.append(
            {
                "url": f"https://example.org/{language}/{i}",
                "source_id": f"bench-{language}",
                "title": f"{VOCABULARY[language][i % 20]} {i}",
                "text": text,
                "language": language,
                "fetched_at": moment,
                "published_at": moment,
                "content_hash": hashlib.sha256(text.encode()).hexdigest(),
                "title_en": f"Story {i}" if translated else None,
                "text_en": text_en,
                "translation_status": "done" if translated else "pending_model",
                "translation_model": f"argos:{language}-en@1.9" if translated else None,
            }
        )
    return pa.Table.from_pylist(rows)


def insert(conn, table: pa.Table) -> None:
    with registered(conn, bench_rows=table):
        conn.execute("INSERT INTO articles BY NAME SELECT * FROM bench_rows")


def timed(action: Callable[[], object], repeat: int = 1) -> float:
    """Median wall seconds of `repeat` runs of action."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--added", type=int, default=100)
    parser.add_argument("--words", type=int, default=60, help="words per original text")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, store.connect(Path(tmp) / "bench.duckdb") as conn:
        began = time.perf_counter()
        for start in range(0, args.articles, 50_000):
            size = min(50_000, args.articles - start)
            insert(conn, articles(start, size, args.words, seed=start))
        print(f"warehouse: {args.articles} articles in {time.perf_counter() - began:.1f} s")

        full = timed(lambda: rebuild_index(conn))
        postings = conn.execute("SELECT count(*) FROM search_postings").fetchone()
        print(
            f"full rebuild:            {full:8.3f} s  ({postings[0] if postings else 0} postings)"
        )

        noop = timed(lambda: refresh_index(conn), repeat=5)
        print(f"no-op refresh:           {noop:8.3f} s  = {noop / full:.4f} x full rebuild")

        new = articles(args.articles, args.added, args.words, seed=1)
        insert(conn, new)
        added = timed(lambda: refresh_index(conn))
        verdict = "ok" if added < 2 else "MISSED"
        print(
            f"{args.added} new articles:        {added:8.3f} s  = {added / full:.4f} x full "
            f"rebuild  (target < 2 s: {verdict})"
        )
        # as a chunk's commit refreshes: naming the articles it wrote
        more = articles(args.articles + args.added, args.added, args.words, seed=2)
        insert(conn, more)
        named = timed(lambda: refresh_index(conn, more["url"].to_pylist()))
        print(f"{args.added} new, named:         {named:8.3f} s  = {named / full:.4f} x full")

        conn.execute(
            "UPDATE articles SET text_en = 'Moscow answered the statement', title_en = 'Answer', "
            "translation_status = 'done', translation_model = 'argos:az-en@1.0' "
            "WHERE url IN (SELECT url FROM articles WHERE language = 'az' LIMIT ?)",
            [args.added],
        )
        changed = timed(lambda: refresh_index(conn))
        print(f"{args.added} translated later:    {changed:8.3f} s  = {changed / full:.4f} x full")

        for query in ("Москва", "阿塞拜疆", "Azərbaycan", "flood bridge"):
            seconds = timed(lambda q=query: search(conn, q), repeat=3)
            print(f"search {query!r:16} {seconds:8.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
