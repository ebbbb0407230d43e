"""The `newsflow` command. Heavy imports (Prefect, argostranslate) happen only where needed."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

from core.settings import VARIABLES, Settings
from core.settings import current as current_settings
from core.settings import use as use_settings

DEMO_PORT = 8765
DEMO_POLITENESS = "timeout_seconds=3,retries=1,backoff_seconds=0.2,delay_seconds=0"
EXTRACT_MAX_BYTES = 5_000_000  # as a fetched page's default cap
EXAMPLE_SQL = (
    "select source_id, language, count(*) as articles, max(published_at) as latest "
    "from articles group by all order by all"
)
DEMO_LANGUAGES = ("ru", "zh", "az")  # the fixture sites' languages that Argos translates
PENDING_SQL = (
    "select language, count(*) from articles where translation_status = 'pending_model' "
    "group by all order by all"
)
SIDE_BY_SIDE_SQL = (
    "select language, left(title, 40) as original, left(title_en, 50) as english "
    "from articles where title_en is not null and language <> 'en' order by all"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    # Offline first: a temporary Prefect server must not phone home (its telemetry also races
    # the server's own start-up on SQLite and logs "database is locked").
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    parser = _parser()
    args = parser.parse_args(argv)
    configured: Settings | None = None
    try:
        # once, for the whole command: the environment's, or those a caller installed
        configured = current_settings()
        with use_settings(configured):
            return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear one-line error for the user, not a traceback
        if configured is not None and configured.debug:
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
    ingest.add_argument(
        "--failure-threshold",
        type=float,
        default=None,
        metavar="SHARE",
        help="share of a source's URLs that may fail before the run fails (default 0.2)",
    )
    ingest.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        metavar="N",
        help="URLs fetched and committed together (default 200); a crash loses at most three",
    )
    ingest.add_argument(
        "--refetch",
        choices=["failed", "all"],
        help="fetch again what the revisit policy holds back: every failed URL, or every URL",
    )
    ingest.set_defaults(run=_ingest)

    frontier = commands.add_parser(
        "frontier", help="per source, how many URLs are in each state and due; failures"
    )
    frontier.add_argument("--source", metavar="ID", help="only this source id")
    frontier.add_argument("--failures", action="store_true", help="list failed URLs and why")
    frontier.add_argument("--json", action="store_true", help="print JSON instead of a table")
    frontier.set_defaults(run=_frontier)

    demo = commands.add_parser("demo", help="ingest the bundled local fixture sites")
    demo.add_argument(
        "--port",
        type=int,
        default=DEMO_PORT,
        help=f"port of the fixture site on 127.0.0.1 (default {DEMO_PORT})",
    )
    demo.set_defaults(run=_demo)

    serve = commands.add_parser(
        "serve", help="local Prefect server + deployments + worker; Ctrl-C stops all"
    )
    serve.add_argument("--port", type=int, default=4200, help="UI/API port on 127.0.0.1")
    serve.add_argument(
        "--home",
        type=Path,
        help="where Prefect keeps its database and the logs (default: ./data/prefect)",
    )
    serve.set_defaults(run=_serve)

    worker = commands.add_parser(
        "worker", help="run a worker of the newsflow pool here (another machine's serve)"
    )
    worker.add_argument(
        "--api", help="Prefect API URL, e.g. http://10.0.0.5:4200/api (default: PREFECT_API_URL)"
    )
    worker.add_argument("--name", help="worker name shown in the UI (default: Prefect's)")
    worker.add_argument("--limit", type=int, help="flow runs at once (default: no limit)")
    worker.set_defaults(run=_worker)

    sql = commands.add_parser(
        "sql", help="run a SQL query on the warehouse: read-only, no files, no network"
    )
    sql.add_argument("query", nargs="?", help="default: an interactive shell (DuckDB's CLI)")
    sql.add_argument(
        "--file", type=Path, metavar="FILE", help="a saved query, e.g. queries/today.sql"
    )
    sql.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value for the saved query's $NAME (repeatable)",
    )
    sql.add_argument(
        "--format", choices=["table", "csv", "json", "markdown"], default="table", dest="output"
    )
    sql.add_argument("--max-rows", type=int, default=100, help="rows of a table (default 100)")
    sql.add_argument(
        "--output-dir",
        type=Path,
        metavar="DIR",
        help="let the query write files (COPY ... TO 'DIR/...') in this directory only",
    )
    sql.set_defaults(run=_sql)

    digest = commands.add_parser(
        "digest", help="write the day's digest: stories, charts, backlog, failures (HTML)"
    )
    digest.add_argument("--day", type=date.fromisoformat, help="UTC day (default: today)")
    digest.add_argument(
        "--out", type=Path, metavar="DIR", help="default: digest/ beside the warehouse file"
    )
    digest.set_defaults(run=_digest)

    show = commands.add_parser("show", help="one article: original and English side by side")
    show.add_argument("url", metavar="URL", help="the article's URL, or any URL that led to it")
    show.add_argument("--out", type=Path, metavar="DIR", help="also write its HTML page in DIR")
    show.set_defaults(run=_show_article)

    extract = commands.add_parser("extract", help="extract saved pages as JSON lines")
    extract.add_argument("files", nargs="+", type=Path, metavar="FILE")
    extract.add_argument("--url", help="the page's URL: picks the source's cleanup rules")
    extract.add_argument(
        "--max-bytes",
        type=int,
        default=EXTRACT_MAX_BYTES,
        help=f"larger files are refused (default {EXTRACT_MAX_BYTES})",
    )
    extract.set_defaults(run=_extract)

    search = commands.add_parser("search", help="full-text search, best matches first")
    search.add_argument("query")
    search.add_argument("--since", type=date.fromisoformat, help="first publication day")
    search.add_argument("--source", metavar="ID", help="only this source id")
    search.add_argument("--lang", metavar="L", help="only this original language, e.g. ru")
    search.add_argument("--limit", type=int, default=20)
    search.set_defaults(run=_search)

    export = commands.add_parser("export", help="write stories as Parquet by date and source")
    export.add_argument("--format", choices=["parquet"], default="parquet")
    export.add_argument("--since", type=date.fromisoformat, help="first publication day")
    export.add_argument("--until", type=date.fromisoformat, help="last publication day")
    export.add_argument("directory", type=Path, metavar="DIR")
    export.set_defaults(run=_export)

    reprocess = commands.add_parser(
        "reprocess", help="re-extract and re-translate stored articles from the raw archive"
    )
    reprocess.add_argument("urls", nargs="*", metavar="URL", help="default: all that match")
    reprocess.add_argument("--source", metavar="ID", help="only this source id")
    reprocess.add_argument("--since", type=date.fromisoformat, help="first fetch day")
    reprocess.add_argument("--until", type=date.fromisoformat, help="last fetch day")
    reprocess.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        metavar="N",
        help="articles read from the archive and replaced together (default 200)",
    )
    reprocess.set_defaults(run=_reprocess)

    maintain = commands.add_parser(
        "maintenance",
        help="compact the raw archive and run each source's canary (a layout check, no refetch)",
    )
    maintain.add_argument(
        "--keep-listing-days",
        type=int,
        default=None,
        metavar="N",
        help="days to keep archived feed, sitemap and API bodies (default 30)",
    )
    maintain.set_defaults(run=_maintenance)

    sources = commands.add_parser("sources", help="check sources.yaml, or print its schema")
    source_actions = sources.add_subparsers(required=True, metavar="ACTION")
    source_actions.add_parser(
        "schema", help="print the JSON Schema of sources.yaml (for editors)"
    ).set_defaults(run=_sources_schema)
    check = source_actions.add_parser(
        "check", help="validate a sources file without fetching anything"
    )
    check.add_argument(
        "file",
        nargs="?",
        type=Path,
        help=f"default: ${VARIABLES['sources_file']}, ./sources.yaml or shipped",
    )
    check.set_defaults(run=_sources_check)

    models = commands.add_parser("models", help="list or install translation models")
    model_actions = models.add_subparsers(required=True, metavar="ACTION")
    model_actions.add_parser(
        "list", help="installed models: name, engine, version, size, languages served and used"
    ).set_defaults(run=_models_list)
    install = model_actions.add_parser(
        "install", help="install X->English models: Argos (index, files), CTranslate2 folders"
    )
    install.add_argument(
        "languages", nargs="*", metavar="LANG", help="e.g. ru zh az (with --dir: those it serves)"
    )
    install.add_argument(
        "--file",
        action="append",
        type=Path,
        dest="files",
        default=[],
        metavar="PATH",
        help="a .argosmodel file (repeatable): no internet needed",
    )
    install.add_argument(
        "--dir",
        action="append",
        type=Path,
        dest="dirs",
        default=[],
        metavar="PATH",
        help="a converted CTranslate2 model folder (NLLB-200, OPUS-MT; see README)",
    )
    install.add_argument("--name", help="with --dir: the model's name (default: folder name)")
    install.add_argument(
        "--retranslate",
        action="store_true",
        help="re-translate the articles of the languages a new model now translates",
    )
    install.set_defaults(run=_models_install)

    translate = commands.add_parser(
        "translate", help="translate the articles whose language now has a model"
    )
    translate.add_argument("--batch-size", type=int, default=200, help="articles per batch")
    translate.add_argument(
        "--retranslate",
        nargs="*",
        metavar="LANG",
        help="also re-translate these languages' articles (none named: all) made by another "
        "model than the one each uses now",
    )
    translate.set_defaults(run=_translate)
    return parser


def _ingest(args: argparse.Namespace) -> int:
    return _run_ingest(
        sources=args.sources,
        since=args.since,
        until=args.until,
        refetch=args.refetch,
        **{
            name: value
            for name, value in (
                ("failure_threshold", args.failure_threshold),
                ("chunk_size", args.chunk_size),
            )
            if value is not None
        },
    )


def _frontier(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from warehouse import frontier, store

    with store.connect(read_only=True, wait_seconds=store.READ_WAIT_SECONDS) as conn:
        if args.failures:
            columns = ("source_id", "url", "state", "http_status", "error", "attempts", "next_due")
            rows = frontier.failures(conn, args.source)
        else:
            columns = ("source_id", "state", "urls", "due", "given_up")
            rows = [
                r
                for r in frontier.summary(conn, datetime.now(UTC))
                if r[0] == args.source or args.source is None
            ]
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    if args.json:
        print(json.dumps(records, default=str, ensure_ascii=False, indent=2))
        return 0
    widths = [max([len(c)] + [len(str(r[c])) for r in records]) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for r in records:
        print("  ".join(str(r[c]).ljust(w) for c, w in zip(columns, widths, strict=True)))
    return 0


def _run_ingest(**parameters: object) -> int:
    """Run the ingest flow and print what became of each URL; 1 on a partial failure.

    The window is checked before anything starts. The run goes to the configured Prefect API,
    else to a running `newsflow serve`, else to a temporary server that dies with this process.
    """
    # the warehouse's wait messages (a plain logger) also go to the run's log; read at import
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "newsflow")
    from flows.ingest import check_window

    check_window(parameters.get("since"), parameters.get("until"))  # type: ignore[arg-type]
    from flows.ingest import ingest
    from flows.serve import prefect_api

    with prefect_api():
        state = ingest(**parameters, return_state=True)
    if state.is_completed() or state.name == "Partial failure":
        _print_summary(str(state.state_details.flow_run_id))
    if not state.is_completed():
        print(f"\n{state.message}", file=sys.stderr)
        return 1
    return 0


def _demo(args: argparse.Namespace) -> int:
    from fixture_site import FixtureSite

    with FixtureSite(port=args.port) as site:
        configured = current_settings()
        demo = replace(
            configured,
            base_url=site.base_url,
            politeness=configured.politeness or DEMO_POLITENESS,
        )
        print(f"fixture site serving at {site.base_url}")
        # The fixture site fails on purpose (a 500, a timeout, a PDF...): the demo shows those
        # failures in the table and warnings without failing the run.
        with use_settings(demo):
            status = _run_ingest(failure_threshold=1.0)
    from desk.shell import print_query

    print("\nArticles in the warehouse by source and language:")
    print_query(EXAMPLE_SQL)
    if _demo_translation():
        from desk.digest import write_digest

        write_digest()  # the daily run wrote it before the translations: write it again
    print(f'\nTry it yourself:\n  newsflow sql "{EXAMPLE_SQL}"')
    print(f'  newsflow sql "{SIDE_BY_SIDE_SQL}"')
    print("  newsflow sql             # the interactive shell")
    print("  newsflow digest          # today's digest page (HTML), with a reader page per article")
    return status


def _demo_translation() -> bool:
    """Translate the demo's articles: install their models where the Argos index answers.

    Offline, say how many articles wait for which language and the two ways to get models.
    Returns whether the demo's languages have models now (and their articles were translated).
    """
    from processing.models import ModelInstallError, installed_models

    missing = [code for code in DEMO_LANGUAGES if code not in installed_models()]
    try:
        if missing:
            _install_with_progress(missing)
    except ModelInstallError as exc:
        waiting = _pending_by_language()
        listed = ", ".join(f"{count} in {lang}" for lang, count in waiting.items())
        print(f"\nNo translation to English yet: {exc}")
        print(f"{sum(waiting.values())} articles wait for a translation model: {listed or 'none'}.")
        print(
            "Two ways to get the models:\n"
            f"  newsflow models install {' '.join(missing)}"
            "        # on a machine with internet\n"
            "  newsflow models install --file PATH.argosmodel"
            "  # files copied from such a machine\n"
            "then `newsflow translate` translates the articles waiting for them."
        )
        return False
    from desk.shell import print_query

    print()
    _translate(argparse.Namespace(batch_size=200, retranslate=None))
    print("\nOriginal and English side by side:")
    print_query(SIDE_BY_SIDE_SQL)
    return True


def _install_with_progress(codes: Sequence[str]) -> None:
    """Download and install X->en models from the Argos index, with a progress bar."""
    from rich.progress import Progress

    from processing.models import install_from_index

    with Progress() as bar:
        task = bar.add_task("translation models", total=len(codes))
        started: list[str] = []

        def step(message: str) -> None:
            bar.update(task, description=message, completed=len(started))
            started.append(message)

        installed = install_from_index(codes, progress=step)
        bar.update(task, description="translation models", completed=len(codes))
    for model in installed:
        print(f"installed {model.name} {model.version}")


def _pending_by_language() -> dict[str, int]:
    """Articles stored untranslated for want of a model, per language."""
    from warehouse.sandbox import analysis_connection

    with analysis_connection() as conn:
        return dict(conn.sql(PENDING_SQL).fetchall())


def _serve(args: argparse.Namespace) -> int:
    from flows.serve import serve

    return serve(args.port, args.home)


def _worker(args: argparse.Namespace) -> int:
    from flows.pool import join_pool

    return join_pool(args.api, args.name, args.limit)


def _sql(args: argparse.Namespace) -> int:
    """A query, a saved query with its parameters, or else the interactive shell."""
    from desk.shell import OutputFormat, open_shell, parse_params, print_query, saved_query

    if args.query and args.file:
        raise ValueError("give a query or --file, not both")
    if not args.query and not args.file:
        if args.param:
            raise ValueError("--param goes with --file")
        return open_shell(writable_dir=args.output_dir)
    query, params = args.query, None
    if args.file:
        query, params = saved_query(args.file, parse_params(args.param))
    print_query(query, params, OutputFormat(args.output), args.max_rows, args.output_dir)
    return 0


def _digest(args: argparse.Namespace) -> int:
    from desk.digest import write_digest

    files = write_digest(args.day, args.out)
    print(f"{len(files.digest.stories)} stories: {files.page} ({len(files.readers)} articles)")
    return 0


def _show_article(args: argparse.Namespace) -> int:
    from desk.digest import show

    print(show(args.url, args.out))
    return 0


def _search(args: argparse.Namespace) -> int:
    from warehouse.sandbox import analysis_connection
    from warehouse.search import format_hit, search

    with analysis_connection() as conn:
        hits = search(conn, args.query, args.since, args.source, args.lang, args.limit)
    for hit in hits:
        print(format_hit(hit))
    if not hits:
        print("no matches", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from warehouse.export import export_parquet
    from warehouse.sandbox import analysis_connection

    with analysis_connection(writable_dir=args.directory) as conn:
        count = export_parquet(conn, args.directory.resolve(), args.since, args.until)
    print(f"exported {count} stories to {args.directory} (date=YYYY-MM-DD/source_id=ID)")
    return 0


def _reprocess(args: argparse.Namespace) -> int:
    from flows.reprocess import reprocess
    from pipeline.ingest import CHUNK_SIZE

    chunk_size = args.chunk_size or CHUNK_SIZE
    updated = reprocess(args.urls, args.source, args.since, args.until, chunk_size)
    print(f"reprocessed {updated} articles from the archive")
    return 0


def _maintenance(args: argparse.Namespace) -> int:
    """Run the maintenance flow; 1 when a canary flagged a source, so that cron or CI notices."""
    from flows.maintenance import maintenance

    kept = {} if args.keep_listing_days is None else {"keep_listing_days": args.keep_listing_days}
    done = maintenance(**kept)
    print(
        f"released {done['listing_bodies_released']} listing bodies, "
        f"dropped {done['bodies_dropped']} archived bodies"
    )
    for source_id, reason in done["layout_changed"].items():
        print(f"{source_id}: layout changed: {reason}", file=sys.stderr)
    return 1 if done["layout_changed"] else 0


def _extract(args: argparse.Namespace) -> int:
    """Extract each file on its own, through the pipeline's one page path (JS shells included).

    A binary, oversized or broken file is reported, never fatal to the others.
    """
    from datetime import UTC, datetime

    from connectors.config import Source, load_sources, source_for_url
    from connectors.decoding import BodyError, html_text
    from processing.page import process_page

    source = source_for_url(load_sources(), args.url) if args.url else None
    failures = 0
    for path in args.files:
        url = args.url or path.resolve().as_uri()
        page_source = source or Source(id="file", name=path.name, kind="file", base_url=url)
        try:
            html = html_text(_read_capped(path, args.max_bytes))
        except (OSError, BodyError) as exc:
            print(f"newsflow: {path}: {exc}", file=sys.stderr)
            failures += 1
            continue
        result = process_page(page_source, url, html, None, datetime.now(UTC))
        if (article := result.article) is None:
            print(f"newsflow: {path}: {result.outcome}: {result.error}", file=sys.stderr)
            failures += 1
            continue
        published = article.published_at.isoformat() if article.published_at else None
        record = {
            "url": article.url,
            "title": article.title,
            "text": article.text,
            "language": article.language,
            "author": article.author,
            "published": published,
            "published_source": str(article.published_source),
        }
        print(json.dumps(record, ensure_ascii=False))
    return 1 if failures else 0


def _read_capped(path: Path, max_bytes: int) -> bytes:
    """A file's bytes, reading no more than the cap allows (/dev/zero ends here too)."""
    from connectors.decoding import TooLarge

    with path.open("rb") as file:
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(f"larger than {max_bytes} bytes (see --max-bytes)")
    return data


def _sources_schema(args: argparse.Namespace) -> int:
    from connectors.config import sources_schema

    print(json.dumps(sources_schema(), indent=2, ensure_ascii=False))
    return 0


def _sources_check(args: argparse.Namespace) -> int:
    """Load the file as a run would (parsers imported, overrides read), fetching nothing."""
    from connectors.config import default_sources_path, load_sources

    path = args.file or default_sources_path()
    sources = load_sources(path, base_url_override="")
    for source in sources:
        parser = f"{source.parser.__module__}:{source.parser.__qualname__}" if source.parser else ""
        print(f"{source.id:<24}{source.kind:<14}{source.base_url}  {parser}".rstrip())
    print(f"{path}: {len(sources)} sources, no problems found")
    return 0


def _models_list(args: argparse.Namespace) -> int:
    from flows.model_commands import list_models

    return list_models()


def _models_install(args: argparse.Namespace) -> int:
    from flows.model_commands import install_models

    return install_models(args)


def _translate(args: argparse.Namespace) -> int:
    from flows.model_commands import routed_languages, translate

    retranslate = args.retranslate
    if retranslate == []:  # --retranslate alone: every language a model translates
        retranslate = routed_languages()
    return translate(retranslate, args.batch_size)


def _print_summary(run_id: str) -> None:
    """What became of each URL of the run, per source, as the warehouse's fetch log says."""
    from warehouse import store

    with store.connect(read_only=True, wait_seconds=store.READ_WAIT_SECONDS) as conn:
        summary = store.run_outcomes(conn, run_id)
    outcomes = sorted({outcome for counts in summary.values() for outcome in counts})
    width = max([len(s) for s in summary] + [6])
    print("\n" + "source".ljust(width) + "".join(f"  {o:>{len(o)}}" for o in outcomes))
    for source_id, counts in sorted(summary.items()):
        row = "".join(f"  {counts.get(o, 0):>{len(o)}}" for o in outcomes)
        print(source_id.ljust(width) + row)


if __name__ == "__main__":
    sys.exit(main())
