"""The `newsflow` command. Heavy imports (Prefect, argostranslate) happen only where needed."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

DEMO_PORT = 8765
DEMO_POLITENESS = "timeout_seconds=3,retries=1,backoff_seconds=0.2,delay_seconds=0"
EXAMPLE_SQL = (
    "select source_id, language, count(*) as articles, max(published_at) as latest "
    "from articles group by all order by all"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    # Offline first: a temporary Prefect server must not phone home (its telemetry also races
    # the server's own start-up on SQLite and logs "database is locked").
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear one-line error for the user, not a traceback
        if os.environ.get("NEWSFLOW_DEBUG"):
            raise
        print(f"newsflow: error: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsflow", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", help="discover, fetch and load new articles")
    ingest.add_argument(
        "--source",
        action="append",
        dest="sources",
        metavar="ID",
        help="source id from sources.yaml (repeatable; default: all)",
    )
    ingest.add_argument("--since", type=date.fromisoformat, help="first publication day")
    ingest.add_argument("--until", type=date.fromisoformat, help="last publication day")
    ingest.set_defaults(run=_ingest)

    demo = commands.add_parser("demo", help="ingest the bundled local fixture sites")
    demo.add_argument(
        "--port",
        type=int,
        default=DEMO_PORT,
        help=f"port of the fixture site on 127.0.0.1 (default {DEMO_PORT})",
    )
    demo.set_defaults(run=_demo)

    sql = commands.add_parser("sql", help="run a read-only SQL query on the warehouse")
    sql.add_argument("query")
    sql.add_argument("--max-rows", type=int, default=100)
    sql.set_defaults(run=_sql)

    extract = commands.add_parser("extract", help="extract saved pages as JSON lines")
    extract.add_argument("files", nargs="+", type=Path, metavar="FILE")
    extract.add_argument("--url", help="the page's URL: picks the source's cleanup rules")
    extract.set_defaults(run=_extract)
    return parser


def _ingest(args: argparse.Namespace) -> int:
    from flows.ingest import ingest

    summary = ingest(sources=args.sources, since=args.since, until=args.until)
    _print_summary(summary)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from fixture_site import FixtureSite
    from flows.ingest import ingest

    with FixtureSite(port=args.port) as site:
        os.environ["NEWSFLOW_BASE_URL"] = site.base_url
        os.environ.setdefault("NEWSFLOW_POLITENESS", DEMO_POLITENESS)
        print(f"fixture site serving at {site.base_url}")
        summary = ingest()
    _print_summary(summary)
    print("\nArticles in the warehouse by source and language:")
    _show(EXAMPLE_SQL, 100)
    print(f'\nTry it yourself:\n  newsflow sql "{EXAMPLE_SQL}"')
    return 0


def _sql(args: argparse.Namespace) -> int:
    _show(args.query, args.max_rows)
    return 0


def _show(query: str, max_rows: int) -> None:
    from warehouse import store

    with store.connect(read_only=True) as conn:
        relation = conn.sql(query)
        if relation is not None:
            relation.show(max_rows=max_rows, max_width=200)


def _extract(args: argparse.Namespace) -> int:
    from connectors.config import load_sources, source_for_url
    from connectors.http import decode_body
    from processing.article import read_page
    from processing.extract import ExtractionError

    source = source_for_url(load_sources(), args.url) if args.url else None
    failures = 0
    for path in args.files:
        try:
            html = decode_body(path.read_bytes())
            url = args.url or path.resolve().as_uri()
            section = source.declared_language(url) if source else None
            extracted, language = read_page(html, url, source.cleanup if source else None, section)
        except (OSError, ExtractionError) as exc:
            print(f"newsflow: {path}: {exc}", file=sys.stderr)
            failures += 1
            continue
        published = extracted.published_at.isoformat() if extracted.published_at else None
        record = {
            "title": extracted.title,
            "text": extracted.text,
            "language": language,
            "author": extracted.author,
            "published": published,
        }
        print(json.dumps(record, ensure_ascii=False))
    return 1 if failures else 0


def _print_summary(summary: dict[str, dict[str, int]]) -> None:
    outcomes = sorted({outcome for counts in summary.values() for outcome in counts})
    width = max([len(s) for s in summary] + [6])
    print("\n" + "source".ljust(width) + "".join(f"{o:>14}" for o in outcomes))
    for source_id, counts in sorted(summary.items()):
        print(source_id.ljust(width) + "".join(f"{counts.get(o, 0):>14}" for o in outcomes))


if __name__ == "__main__":
    sys.exit(main())
