"""newsflow: ingest news sites in several languages into a DuckDB warehouse, and read it."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from connectors.sanitize import SafeStream
from core.settings import VARIABLES, Settings, SettingsError
from core.settings import current as current_settings
from core.settings import use as use_settings
from desk import stories
from flows.api import SERVE_PORT, prefect_server, say_where

# Heavy imports (Prefect, argostranslate) happen inside the commands that need them, so that a
# typo or `--help` answers at once.
DEMO_PORT = 8765
CONSOLE_LEVEL = "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"  # read when Prefect is imported
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


class UsageError(ValueError):
    """The command line named something that is not there: exit 2, before any work starts."""


class Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line that says where to look (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script: 0 done, 1 failed work, 2 bad usage."""
    # Offline first: a temporary Prefect server must not phone home (its telemetry also races
    # the server's own start-up on SQLite and logs "database is locked").
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # What the web wrote reaches the terminal only through connectors.sanitize.terminal_safe
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeStream(sys.stdout), SafeStream(sys.stderr)
    configured: Settings | None = None
    try:
        args = build_parser().parse_args(argv)
        _quiet_prefect(args.verbose)
        # once, for the whole command: the environment's, or those a caller installed
        configured = current_settings()
        with use_settings(configured):
            _check_usage(args)
            status = int(args.run(args) or 0)
        sys.stdout.flush()  # a reader gone after the last line is met here, not at exit
        return status
    except (UsageError, SettingsError) as exc:
        print(f"newsflow: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `newsflow show URL | head`: the reader has what it wanted; stop without a traceback
        # (and without another one when Python flushes stdout on exit).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a clear one-line error for the user, not a traceback
        if configured is not None and configured.debug:
            raise
        print(f"newsflow: error: {exc}", file=sys.stderr)
        return 1
    finally:
        sys.stdout, sys.stderr = streams


def _quiet_prefect(verbose: bool) -> None:
    """Prefect's INFO lines on the terminal only with -v (the run's log in the UI keeps them)."""
    if verbose:
        os.environ[CONSOLE_LEVEL] = "INFO"
    else:  # a level the user set stays
        os.environ.setdefault(CONSOLE_LEVEL, "WARNING")


def _check_usage(args: argparse.Namespace) -> None:
    """What can be checked before any work starts: the windows, a budget without one (the
    settings, the warehouse address among them, were checked when they were read)."""
    for first, last in (("since", "until"), ("fetched_since", "fetched_until")):
        since, until = getattr(args, first, None), getattr(args, last, None)
        if since and until and since > until:
            raise UsageError(
                f"{first} ({since.isoformat()}) is after {last} ({until.isoformat()}): "
                "the window would be empty"
            )
    if getattr(args, "budget", None) and not (args.since or args.until):
        raise UsageError("--budget goes with --since/--until: it bounds a backfill's window")


# --- argument types: each says what was wrong and what would be right --------------------------


def _whole(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= {minimum}")
        return value

    parse.__name__ = f"whole number >= {minimum}"
    return parse


positive = _whole(1)


def day(text: str) -> date:
    """A YYYY-MM-DD day."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a day: YYYY-MM-DD, e.g. 2025-10-01"
        ) from None


def share(text: str) -> float:
    """A share between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share from 0 to 1, e.g. 0.2")
    return value


def web_url(text: str) -> str:
    """An http(s) URL with a host."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not a web address: http(s)://HOST/PATH")
    return text


def source_id(text: str) -> str:
    """The id of a source that sources.yaml configures (the ids alone are read: the whole
    file is checked when the command loads its sources)."""
    from connectors.sources_file import source_ids

    known = source_ids()
    if known is None:  # no list of ids to read: loading the file says what is wrong with it
        from connectors.config import load_sources

        known = [s.id for s in load_sources()]
    if text not in known:
        raise argparse.ArgumentTypeError(f"no source {text!r}; sources.yaml has {', '.join(known)}")
    return text


# --- the commands: one function each adds its parser; COMMANDS lists them in help order ------

Commands = argparse._SubParsersAction  # what add_parser is called on
COMMANDS: list[Callable[[Commands], None]] = []


def command(add: Callable[[Commands], None]) -> Callable[[Commands], None]:
    """Register a function that adds one subcommand (its options and its `run`)."""
    COMMANDS.append(add)
    return add


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: global options, then each registered command."""
    parser = Parser(prog="newsflow", description=__doc__)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also print Prefect's INFO lines"
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND", parser_class=Parser)
    for add in COMMANDS:
        add(commands)
    return parser


def _window(parser: argparse.ArgumentParser, flag: str = "", what: str = "publication") -> None:
    """--since/--until: always publication days; --fetched-since/--fetched-until: fetch days."""
    parser.add_argument(
        f"--{flag}since", type=day, metavar="YYYY-MM-DD", help=f"first {what} day (inclusive)"
    )
    parser.add_argument(
        f"--{flag}until", type=day, metavar="YYYY-MM-DD", help=f"last {what} day (inclusive)"
    )


@command
def _ingest_command(commands: Commands) -> None:
    ingest = commands.add_parser("ingest", help="discover, fetch and load new articles")
    ingest.add_argument(
        "--source",
        action="append",
        dest="sources",
        type=source_id,
        metavar="ID",
        help="source id from sources.yaml (repeatable; default: all)",
    )
    _window(ingest)
    ingest.add_argument(
        "--failure-threshold",
        type=share,
        default=None,
        metavar="SHARE",
        help="share of a source's URLs that may fail before the run fails (default 0.2)",
    )
    ingest.add_argument(
        "--chunk-size",
        type=positive,
        default=None,
        metavar="N",
        help="URLs fetched and committed together (default 200); a crash loses at most three",
    )
    ingest.add_argument(
        "--refetch",
        choices=["failed", "all"],
        help="fetch again what the revisit policy holds back: every failed URL, or every URL",
    )
    ingest.add_argument(
        "--budget",
        type=positive,
        metavar="N",
        help="with --since/--until: URLs to list per source at most (default: the whole window)",
    )
    ingest.set_defaults(run=_ingest)


@command
def _frontier_command(commands: Commands) -> None:
    frontier = commands.add_parser(
        "frontier", help="per source, how many URLs are in each state and due; failures"
    )
    frontier.add_argument("--source", type=source_id, metavar="ID", help="only this source id")
    frontier.add_argument("--failures", action="store_true", help="list failed URLs and why")
    frontier.add_argument("--json", action="store_true", help="print JSON instead of a table")
    frontier.set_defaults(run=_frontier)


@command
def _demo_command(commands: Commands) -> None:
    demo = commands.add_parser("demo", help="ingest the bundled local fixture sites")
    demo.add_argument(
        "--port",
        type=positive,
        default=DEMO_PORT,
        help=f"port of the fixture site on 127.0.0.1 (default {DEMO_PORT})",
    )
    demo.set_defaults(run=_demo)


@command
def _serve_command(commands: Commands) -> None:
    serve = commands.add_parser(
        "serve", help="local Prefect server + deployments + worker; Ctrl-C stops all"
    )
    serve.add_argument(
        "--port",
        type=positive,
        default=SERVE_PORT,
        help=f"UI/API port on 127.0.0.1 (default {SERVE_PORT})",
    )
    serve.add_argument(
        "--home",
        type=Path,
        help="where Prefect keeps its database and the logs (default: ./data/prefect)",
    )
    serve.set_defaults(run=_serve)


@command
def _worker_command(commands: Commands) -> None:
    worker = commands.add_parser(
        "worker", help="run a worker of the newsflow pool here (another machine's serve)"
    )
    worker.add_argument(
        "--api",
        type=web_url,
        help="Prefect API URL, e.g. http://10.0.0.5:4200/api (default: PREFECT_API_URL)",
    )
    worker.add_argument("--name", help="worker name shown in the UI (default: Prefect's)")
    worker.add_argument("--limit", type=positive, help="flow runs at once (default: no limit)")
    worker.set_defaults(run=_worker)


@command
def _sql_command(commands: Commands) -> None:
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
        "--format",
        choices=["table", "csv", "json", "markdown"],
        default="table",
        dest="output",
        help="how rows are printed (default table)",
    )
    sql.add_argument(
        "--max-rows", type=positive, default=100, metavar="N", help="rows of a table (default 100)"
    )
    sql.add_argument(
        "--output-dir",
        type=Path,
        metavar="DIR",
        help="let the query write files (COPY ... TO 'DIR/...') in this directory only",
    )
    sql.set_defaults(run=_sql)


@command
def _digest_command(commands: Commands) -> None:
    digest = commands.add_parser(
        "digest", help="write the day's digest: stories, charts, backlog, failures (HTML)"
    )
    digest.add_argument(
        "--day",
        type=day,
        metavar="YYYY-MM-DD",
        help="fetch day (UTC) whose arrivals it shows (default: today)",
    )
    digest.add_argument(
        "--out", type=Path, metavar="DIR", help="default: digest/ beside the warehouse file"
    )
    digest.set_defaults(run=_digest)


@command
def _show_command(commands: Commands) -> None:
    show = commands.add_parser("show", help="one article: original and English side by side")
    show.add_argument(
        "url", metavar="URL", type=web_url, help="the article's URL, or any URL that led to it"
    )
    show.add_argument("--out", type=Path, metavar="DIR", help="also write its HTML page in DIR")
    show.set_defaults(run=_show_article)


@command
def _extract_command(commands: Commands) -> None:
    extract = commands.add_parser("extract", help="extract saved pages as JSON lines")
    extract.add_argument("files", nargs="+", type=Path, metavar="FILE", help="saved HTML pages")
    extract.add_argument(
        "--url", type=web_url, help="the page's URL: picks the source's cleanup rules"
    )
    extract.add_argument(
        "--max-bytes",
        type=positive,
        default=EXTRACT_MAX_BYTES,
        metavar="N",
        help=f"larger files are refused (default {EXTRACT_MAX_BYTES})",
    )
    extract.set_defaults(run=_extract)


@command
def _search_command(commands: Commands) -> None:
    search = commands.add_parser("search", help="full-text search, best matches first")
    search.add_argument("query", help="words to find, in any language stored")
    search.add_argument(
        "--since", type=day, metavar="YYYY-MM-DD", help="first publication day (inclusive)"
    )
    search.add_argument("--source", type=source_id, metavar="ID", help="only this source id")
    search.add_argument("--lang", metavar="L", help="only this original language, e.g. ru")
    search.add_argument(
        "--limit", type=positive, default=20, metavar="N", help="matches shown (default 20)"
    )
    search.set_defaults(run=_search)


@command
def _stories_command(commands: Commands) -> None:
    listing = commands.add_parser("stories", help="stories (events) across sources and languages")
    listing.add_argument(
        "--since", type=day, metavar="YYYY-MM-DD", help="last seen on or after this day"
    )
    listing.add_argument("--language", metavar="L", help="told in this language, e.g. ru")
    listing.add_argument("--source", type=source_id, metavar="ID", help="told by this source id")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    listing.set_defaults(run=stories.list_stories)


@command
def _story_command(commands: Commands) -> None:
    one = commands.add_parser("story", help="one story's articles side by side in time order")
    one.add_argument("story_id", type=int, metavar="ID", help="a story id from `newsflow stories`")
    one.add_argument("--json", action="store_true", help="JSON instead of a table")
    one.set_defaults(run=_story)


def _story(args: argparse.Namespace) -> int:
    try:
        return stories.show_story(args)
    except stories.UnknownStory as exc:
        raise UsageError(str(exc)) from None


@command
def _export_command(commands: Commands) -> None:
    export = commands.add_parser("export", help="write stories as Parquet by date and source")
    export.add_argument(
        "--format", choices=["parquet"], default="parquet", help="file format (parquet)"
    )
    _window(export)
    export.add_argument("directory", type=Path, metavar="DIR", help="where the files go")
    export.set_defaults(run=_export)


@command
def _reprocess_command(commands: Commands) -> None:
    reprocess = commands.add_parser(
        "reprocess", help="re-extract and re-translate stored articles from the raw archive"
    )
    reprocess.add_argument(
        "urls", nargs="*", metavar="URL", type=web_url, help="stored articles (default: all)"
    )
    reprocess.add_argument("--source", type=source_id, metavar="ID", help="only this source id")
    _window(reprocess, "fetched-", "fetch")
    reprocess.add_argument(
        "--chunk-size",
        type=positive,
        default=None,
        metavar="N",
        help="articles read from the archive and replaced together (default 200)",
    )
    reprocess.set_defaults(run=_reprocess)


@command
def _maintenance_command(commands: Commands) -> None:
    maintain = commands.add_parser(
        "maintenance",
        help="compact the raw archive and run each source's canary (a layout check, no refetch)",
    )
    maintain.add_argument(
        "--keep-listing-days",
        type=_whole(0),
        default=None,
        metavar="N",
        help="days to keep archived feed, sitemap and API bodies (default 30)",
    )
    maintain.set_defaults(run=_maintenance)


@command
def _sources_command(commands: Commands) -> None:
    sources = commands.add_parser("sources", help="check sources.yaml, or print its schema")
    actions = sources.add_subparsers(required=True, metavar="ACTION", parser_class=Parser)
    schema = actions.add_parser(
        "schema", help="print the JSON Schema of sources.yaml (for editors)"
    )
    schema.set_defaults(run=_sources_schema)
    check = actions.add_parser("check", help="validate a sources file without fetching anything")
    check.add_argument(
        "file",
        nargs="?",
        type=Path,
        help=f"default: ${VARIABLES['sources_file']}, ./sources.yaml or shipped",
    )
    check.set_defaults(run=_sources_check)


@command
def _models_command(commands: Commands) -> None:
    models = commands.add_parser("models", help="list or install translation models")
    actions = models.add_subparsers(required=True, metavar="ACTION", parser_class=Parser)
    listing = actions.add_parser(
        "list", help="installed models: name, engine, version, size, languages served and used"
    )
    listing.set_defaults(run=_models_list)
    install = actions.add_parser(
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


@command
def _translate_command(commands: Commands) -> None:
    translate = commands.add_parser(
        "translate", help="translate the articles whose language now has a model"
    )
    translate.add_argument(
        "--batch-size",
        type=positive,
        default=200,
        metavar="N",
        help="articles per batch (default 200)",
    )
    translate.add_argument(
        "--retranslate",
        nargs="*",
        metavar="LANG",
        help="also re-translate these languages' articles (none named: all) made by another "
        "model than the one each uses now",
    )
    translate.set_defaults(run=_translate)


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
                ("budget", args.budget),
            )
            if value is not None
        },
    )


def _frontier(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from warehouse import frontier

    with _existing_warehouse() as conn:
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
    """Run an ingest and print what became of each URL; 1 on a partial failure.

    The arguments were checked before (main). With a Prefect server configured
    (PREFECT_API_URL) or a `newsflow serve` running, the run is a flow run there, in its UI;
    with none, the same pipeline runs in this process and records its run in the warehouse.
    """
    # the warehouse's wait messages (a plain logger) also go to the run's log; read at import
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "newsflow")
    _print_progress("newsflow.ingest")
    from connectors.sources_file import source_ids

    # the first line before the pipeline's imports: the ids named, else those the file lists
    ids = parameters.get("sources") or source_ids() or ["every source"]
    api = prefect_server()
    say_where(f"ingesting {', '.join(ids)}", api)  # type: ignore[arg-type]
    if api is None:
        return _ingest_here(**parameters)  # type: ignore[arg-type]
    from flows.api import prefect_api
    from flows.ingest import ingest

    with prefect_api(api), _ingest_bar():
        state = ingest(**parameters, return_state=True)
    if state.is_completed() or state.name == "Partial failure":
        _print_summary(str(state.state_details.flow_run_id))
    if not state.is_completed():
        print(f"\n{state.message}", file=sys.stderr)
        return 1
    return 0


def _ingest_here(
    sources: list[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    refetch: str | None = None,
    **options: float | int,
) -> int:
    """The ingest in this process (pipeline/here.py); a daily run writes the digest too."""
    from connectors.config import load_sources, select_sources
    from pipeline.here import ingest_here
    from warehouse.interface import DuckDBWarehouse

    with _ingest_bar():
        closed = ingest_here(
            DuckDBWarehouse(),
            select_sources(load_sources(), sources),
            not sources,
            since,
            until,
            refetch,
            **options,  # type: ignore[arg-type]
        )
    if since is None and until is None:
        from desk.digest import write_digest

        write_digest(only_if_changed=True)
    _print_outcomes(closed.outcomes)
    if not closed.verdict.completed:
        print(f"\n{closed.verdict.message}", file=sys.stderr)
        return 1
    return 0


@contextmanager
def _ingest_bar() -> Iterator[None]:
    """A bar over an ingest run in this process (on a terminal only): new URLs listed, then
    URLs fetched of them (a URL due again counts too)."""
    from flows.bar import progress_bar
    from pipeline.progress import Stage, Step, ingest_steps

    urls = dict.fromkeys(Stage, 0)
    with progress_bar("listing") as bar:

        def watch(step: Step) -> None:
            urls[step.stage] += step.urls
            listed, fetched = urls[Stage.LISTED], urls[Stage.FETCHED]
            doing = (
                f"fetching ({listed} new URLs listed)" if fetched else f"listing: {listed} new URLs"
            )
            bar(fetched, max(listed, fetched) or None, doing)

        with ingest_steps.watching(watch):
            yield


class _Progress(logging.Handler):
    """A pipeline's progress lines (a backfill's rounds) on stdout as they happen, whatever
    level Prefect's console is at."""

    def emit(self, record: logging.LogRecord) -> None:
        # not print(): inside a flow run with log_prints, print goes to the run's logger
        sys.stdout.write(self.format(record) + "\n")
        sys.stdout.flush()


def _print_progress(name: str) -> None:
    log = logging.getLogger(name)
    if not any(isinstance(h, _Progress) for h in log.handlers):
        log.addHandler(_Progress())


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
            "installing a model translates the articles waiting for it."
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
    """Reprocess; URLs named must be stored articles (an unknown one is an error, not 0 done)."""
    _require_warehouse()  # reprocessing nothing must not leave an empty warehouse behind
    if args.urls:
        _require_archived(args.urls)
    from pipeline.ingest import CHUNK_SIZE

    chosen = (args.urls, args.source, args.fetched_since, args.fetched_until)
    chunk_size = args.chunk_size or CHUNK_SIZE
    say_where("reprocessing", api := prefect_server())
    if api:
        from flows.api import prefect_api
        from flows.reprocess import reprocess

        with prefect_api(api):
            updated = reprocess(*chosen, chunk_size)
    else:
        from pipeline.here import reprocess_here
        from warehouse.interface import DuckDBWarehouse

        updated = reprocess_here(DuckDBWarehouse(), *chosen, chunk_size).updated
    print(f"reprocessed {updated} articles from the archive")
    return 0


def _require_archived(urls: Sequence[str]) -> None:
    from warehouse import archive

    with _existing_warehouse() as conn:
        missing = sorted(set(urls) - set(archive.archived_urls(conn, urls)))
    if missing:
        raise UsageError(
            f"not a stored article with its archived page: {', '.join(missing)} "
            "(`newsflow search WORDS` finds stored ones)"
        )


def _existing_warehouse():  # noqa: ANN202 - a store.connect context
    """A read-only connection to the warehouse, which must already exist (none is created)."""
    from warehouse import store

    _require_warehouse()
    return store.connect(read_only=True, wait_seconds=store.READ_WAIT_SECONDS)


def _require_warehouse() -> None:
    """A command that reads or changes stored articles refuses to make an empty warehouse."""
    from warehouse import store

    if store.backend() is None and not store.db_path().exists():
        raise UsageError(
            f"no warehouse at {store.db_path()}: `newsflow demo` or `newsflow ingest` makes one"
        )


def _maintenance(args: argparse.Namespace) -> int:
    """Maintenance (a flow run where a Prefect server is, else here); 1 when a canary flagged a
    source, so that cron or CI notices."""
    from warehouse.maintenance import KEEP_LISTING_DAYS

    _require_warehouse()
    kept = KEEP_LISTING_DAYS if args.keep_listing_days is None else args.keep_listing_days
    say_where("maintaining the warehouse", api := prefect_server())
    if api:
        from flows.api import prefect_api
        from flows.maintenance import maintenance

        with prefect_api(api):
            done = maintenance(kept)
    else:
        from pipeline.here import maintain_here
        from warehouse.interface import DuckDBWarehouse

        done = maintain_here(DuckDBWarehouse(), kept).summary()
    print(
        f"released {done['listing_bodies_released']} listing bodies, "
        f"dropped {done['bodies_dropped']} archived bodies"
    )
    for source_id, reason in done["no_canary"].items():
        print(f"{source_id}: {reason}", file=sys.stderr)
    for source_id, reason in done["layout_changed"].items():
        print(f"{source_id}: layout changed: {reason}", file=sys.stderr)
    return 1 if done["layout_changed"] else 0


def _extract(args: argparse.Namespace) -> int:
    """Extract each file on its own, through the pipeline's one page path (JS shells included).

    A binary, oversized, broken or too costly file is reported, never fatal to the others.
    """
    from datetime import UTC, datetime

    from connectors.config import Source, load_sources, source_for_url
    from connectors.decoding import BodyError, html_text
    from pipeline.pages import within_budget

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
        page = (url, html, None, datetime.now(UTC), None, None, None, None)
        result = within_budget(page_source, page)  # a page's CPU budget, as in an ingest
        if (article := result.article) is None:
            print(f"newsflow: {path}: {result.outcome}: {result.error}", file=sys.stderr)
            failures += 1
            continue
        published = _published_text(article.published_at, article.published_precision)
        record = {
            "url": article.url,
            "title": article.title,
            "text": article.text,
            "language": article.language,
            "author": article.author,
            "authors": list(article.authors),
            "published": published,
            "published_precision": article.published_precision,
            "published_source": str(article.published_source),
            "paywalled": article.paywalled,
        }
        print(json.dumps(record, ensure_ascii=False))
    return 1 if failures else 0


def _published_text(moment: datetime | None, precision: str | None) -> str | None:
    """The publication time as ISO 8601: the day alone where only the day is known."""
    if moment is None:
        return None
    return moment.date().isoformat() if precision == "day" else moment.isoformat()


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

    _require_warehouse()  # translating nothing must not leave an empty warehouse behind
    retranslate = args.retranslate
    if retranslate == []:  # --retranslate alone: every language a model translates
        retranslate = routed_languages()
    return translate(retranslate, args.batch_size)


def _print_summary(run_id: str) -> None:
    """What became of each URL of the flow run, as the warehouse's fetch log says."""
    from warehouse import store

    with _existing_warehouse() as conn:
        _print_outcomes(store.run_outcomes(conn, run_id))


def _print_outcomes(summary: dict[str, dict[str, int]]) -> None:
    """Per source, how many URLs ended in each outcome."""
    outcomes = sorted({outcome for counts in summary.values() for outcome in counts})
    width = max([len(s) for s in summary] + [6])
    print("\n" + "source".ljust(width) + "".join(f"  {o:>{len(o)}}" for o in outcomes))
    for source_id, counts in sorted(summary.items()):
        row = "".join(f"  {counts.get(o, 0):>{len(o)}}" for o in outcomes)
        print(source_id.ljust(width) + row)


if __name__ == "__main__":
    sys.exit(main())
