"""The floor newsflow is compared with: async httpx fetch, trafilatura.extract, one DuckDB insert.

    .venv/bin/python bench/minimal_ingest.py URLS_FILE DB_FILE [--concurrency 16]

No politeness, robots, dedup, archive, language or translation: only what any ingest must do.
Extraction runs in a process pool over every core while fetching goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from concurrent.futures import ProcessPoolExecutor

import duckdb
import httpx
import pyarrow as pa
import trafilatura


async def ingest(urls: list[str], concurrency: int) -> list[tuple[str, str | None]]:
    """(url, extracted text) for every URL; a failed fetch gives None."""
    gate = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()
    limits = httpx.Limits(max_connections=concurrency)
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:

            async def one(url: str) -> tuple[str, str | None]:
                async with gate:
                    response = await client.get(url)
                if response.status_code != 200:
                    return url, None
                return url, await loop.run_in_executor(pool, trafilatura.extract, response.text)

            return await asyncio.gather(*(one(url) for url in urls))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("urls")
    parser.add_argument("db")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with open(args.urls, encoding="utf-8") as lines:
        urls = [line.strip() for line in lines if line.strip()]
    rows = asyncio.run(ingest(urls, args.concurrency))
    with duckdb.connect(args.db) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS articles (url VARCHAR PRIMARY KEY, text VARCHAR)")
        conn.register("fetched", pa.table(list(zip(*rows, strict=True)), names=["url", "text"]))
        conn.execute("INSERT OR IGNORE INTO articles SELECT * FROM fetched")
    print(sum(text is not None for _, text in rows))


if __name__ == "__main__":
    main()
