"""The command line as a newcomer meets it: typos refused in one line with exit 2 before anything
starts (no Prefect server, no API call, no warehouse made), quiet pipes, help for every option,
and the README's command reference checked against the parser.

Each row drives `newsflow` as a subprocess, as a user types it, and asserts its exit status and
first line of output.
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import subprocess
import sys
import threading
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flows.cli import build_parser
from warehouse import store

ROOT = Path(__file__).resolve().parents[1]


class _Recorder(BaseHTTPRequestHandler):
    """Stands in for a Prefect API: records every request it gets, answers none usefully."""

    def _record(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        self.send_response(503)
        self.end_headers()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _record  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api_calls():
    """A PREFECT_API_URL on 127.0.0.1 and the paths it was asked for."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.paths = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/api", server.paths  # type: ignore[attr-defined]
    server.shutdown()


@pytest.fixture
def newsflow(tmp_path, api_calls, monkeypatch):
    """Run `newsflow ARGS` in a clean folder; its exit status and output lines."""
    api, _ = api_calls
    monkeypatch.delenv("NEWSFLOW_WAREHOUSE", raising=False)
    env_base = {
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": api,
        "NEWSFLOW_DB": str(tmp_path / "newsflow.duckdb"),
        "NEWSFLOW_SOURCES": str(ROOT / "sources.yaml"),
    }

    def run(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, list[str]]:
        """env: variables to set, or with None to leave out."""
        merged = {**env_base, **(env or {})}
        done = subprocess.run(
            [sys.executable, "-m", "flows.cli", *args],
            cwd=tmp_path,
            env={name: value for name, value in merged.items() if value is not None},
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.returncode, (done.stdout + done.stderr).splitlines()

    return run


def _nothing_started(tmp_path: Path, api_calls: tuple[str, list[str]]) -> None:
    """No Prefect server was started (its home is never made), no API called, no warehouse."""
    assert not (tmp_path / "prefect").exists()
    assert api_calls[1] == []
    assert not (tmp_path / "newsflow.duckdb").exists()


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        (
            ["ingest", "--source", "nosuch"],
            "newsflow ingest: error: argument --source: no source 'nosuch'; sources.yaml has "
            "caucasian-knot, caucasian-knot-en, caliber-az, toutiao, toutiao-mobile "
            "(see newsflow ingest --help)",
        ),
        (
            ["ingest", "--chunk-size", "0"],
            "newsflow ingest: error: argument --chunk-size: '0' is not a whole number >= 1 "
            "(see newsflow ingest --help)",
        ),
        (
            ["ingest", "--since", "2025-10-32"],
            "newsflow ingest: error: argument --since: '2025-10-32' is not a day: YYYY-MM-DD, "
            "e.g. 2025-10-01 (see newsflow ingest --help)",
        ),
        (
            ["ingest", "--since", "2025-10-07", "--until", "2025-10-01"],
            "newsflow: error: since (2025-10-07) is after until (2025-10-01): "
            "the window would be empty",
        ),
        (
            ["ingest", "--budget", "100"],
            "newsflow: error: --budget goes with --since/--until: it bounds a backfill's window",
        ),
        (
            ["frontier", "--source", "nosuch"],
            "newsflow frontier: error: argument --source: no source 'nosuch'; sources.yaml has "
            "caucasian-knot, caucasian-knot-en, caliber-az, toutiao, toutiao-mobile "
            "(see newsflow frontier --help)",
        ),
        (
            ["show", "www.example.org/a"],
            "newsflow show: error: argument URL: 'www.example.org/a' is not a web address: "
            "http(s)://HOST/PATH (see newsflow show --help)",
        ),
        (
            ["translate"],
            "newsflow: error: no warehouse at {db}: `newsflow demo` or `newsflow ingest` makes one",
        ),
        (
            ["translate", "--batch-size", "-5"],
            "newsflow translate: error: argument --batch-size: '-5' is not a whole number >= 1 "
            "(see newsflow translate --help)",
        ),
    ],
)
def test_a_typo_is_refused_in_one_line_before_anything_starts(
    newsflow, tmp_path, api_calls, args, first_line
):
    code, lines = newsflow(*args)
    assert code == 2
    assert lines[0] == first_line.format(db=tmp_path / "newsflow.duckdb")
    assert len(lines) == 1
    _nothing_started(tmp_path, api_calls)


def test_a_warehouse_address_with_a_typo_in_its_scheme_is_refused(newsflow, tmp_path, api_calls):
    code, lines = newsflow(
        "ingest", env={"NEWSFLOW_WAREHOUSE": "ducklak:postgres:dbname=news host=127.0.0.1"}
    )
    assert code == 2
    assert lines == [
        "newsflow: error: NEWSFLOW_WAREHOUSE='ducklak:postgres:dbname=news host=127.0.0.1' "
        "starts with an unknown scheme 'ducklak:': a DuckLake is "
        "ducklake:postgres:dbname=NAME host=HOST, a DuckDB file is a path"
    ]
    _nothing_started(tmp_path, api_calls)
    assert not list(tmp_path.glob("ducklak*"))


def _empty_warehouse(path: Path) -> None:
    with store.connect(path):
        pass


def test_reprocess_of_a_url_that_is_not_stored_is_an_error(newsflow, tmp_path, api_calls):
    _empty_warehouse(tmp_path / "newsflow.duckdb")
    code, lines = newsflow("reprocess", "https://example.org/never-stored")
    assert code == 2
    assert lines == [
        "newsflow: error: not a stored article with its archived page: "
        "https://example.org/never-stored (`newsflow search WORDS` finds stored ones)"
    ]
    assert api_calls[1] == [] and not (tmp_path / "prefect").exists()


def test_a_prefect_profile_naming_an_api_sends_the_run_there(newsflow, tmp_path, api_calls):
    """No PREFECT_API_URL in the environment, but the active Prefect profile names one: the
    one-off command is a flow run on that API (here one that answers nothing usefully)."""
    api, paths = api_calls
    _empty_warehouse(tmp_path / "newsflow.duckdb")
    (tmp_path / "prefect").mkdir()
    (tmp_path / "prefect" / "profiles.toml").write_text(
        f'active = "team"\n\n[profiles.team]\nPREFECT_API_URL = "{api}"\n'
    )
    code, lines = newsflow(
        "maintenance", env={"PREFECT_API_URL": None, "PREFECT_CLIENT_MAX_RETRIES": "0"}
    )
    assert lines[0] == f"maintaining the warehouse as a flow run on {api} …"
    assert code == 1 and paths  # the API was asked, and its refusal failed the command


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`newsflow ... | head`: the reader stops reading; no BrokenPipeError traceback."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    command = f"{sys.executable} -m flows.cli sources schema | head -n 1"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout == "{\n"
    assert done.stderr == ""
    assert done.returncode == 0


def test_help_says_what_newsflow_is(newsflow):
    code, lines = newsflow("--help")
    assert code == 0
    assert lines[0] == "usage: newsflow [-h] [-v] COMMAND ..."
    assert lines[2].startswith("newsflow: ingest news sites in several languages")


def _subcommands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, set[str]]:
    """Each command ("models install") with its long options, from the parser itself."""
    options = {o for a in parser._actions for o in a.option_strings if o not in ("-h", "--help")}
    found = {prefix: options}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(_subcommands(sub, f"{prefix} {name}".strip()))
    return {
        name: options
        for name, options in found.items()
        if options or name not in ("models", "sources")
    }


def _readme_reference() -> dict[str, set[str]]:
    """The commands and options the README's "The command line" block lists."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## The command line", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    listed: dict[str, set[str]] = {}
    current = ""
    for token in re.finditer(r"newsflow((?: [a-z]+)*)|(--?[a-z][a-z-]*)", block):
        if token.group(2):
            listed.setdefault(current, set()).add(token.group(2))
            continue
        words = token.group(1).split()
        current = " ".join(words[:2] if words[:1] in (["models"], ["sources"]) else words[:1])
        listed.setdefault(current, set())
    return listed


def test_the_readme_command_reference_matches_the_parser():
    assert _readme_reference() == _subcommands(build_parser())


def test_every_command_and_option_has_help():
    def walk(parser: argparse.ArgumentParser, name: str) -> list[str]:
        missing = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {c.dest: c.help for c in action._choices_actions}
                for sub_name, sub in action.choices.items():
                    if not helps.get(sub_name):
                        missing.append(f"{name} {sub_name}")
                    missing += walk(sub, f"{name} {sub_name}")
            elif not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
        return missing

    assert walk(build_parser(), "newsflow") == []


@pytest.fixture(scope="module")
def here(tmp_path_factory):
    """A site of three ferry notices and `newsflow ARGS` with no Prefect server configured:
    no PREFECT_API_URL, a PREFECT_HOME of its own; the exit status and output lines."""
    from hostile_site import HostileSite, Request, response

    tmp_path = tmp_path_factory.mktemp("here")
    with HostileSite() as site:

        def page(request: Request) -> bytes:
            n = request.path.rsplit("/", 1)[1]
            return response(
                f"<html><head><title>Ferry notice {n}</title></head><body><article><h1>Ferry "
                f"notice {n}</h1><p>The ferry to Aktau leaves from berth {n} on Monday, the port "
                f"of Baku said, and passengers should arrive {n} hours early for the checks.</p>"
                "</article></body></html>"
            )

        site.serve_sitemap([f"/notice/{n}" for n in range(3)], page)
        sources = site.sitemap_sources(tmp_path / "sources.yaml", "ferries", 2)
        env = {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "HOME": str(tmp_path),
            "PREFECT_HOME": str(tmp_path / "prefect"),
            "NEWSFLOW_DB": str(tmp_path / "w.duckdb"),
            "NEWSFLOW_SOURCES": str(sources),
            "NEWSFLOW_WORKERS": "0",
        }

        def run(*args: str, terminal: bool = False) -> tuple[int, list[str]]:
            """With terminal, stderr is a pseudo-terminal (its screen is the last line)."""
            command = [sys.executable, "-m", "flows.cli", *args]
            if terminal:
                return _on_a_terminal(command, tmp_path, env)
            done = subprocess.run(
                command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
            )
            assert not list((tmp_path / "prefect").glob("*.db"))  # no Prefect server's database
            return done.returncode, (done.stdout + done.stderr).splitlines()

        yield run, tmp_path / "w.duckdb"


def _on_a_terminal(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    """Run with stdout a pipe and stderr a pseudo-terminal, as `newsflow ... > file` in a
    terminal; the output lines, then all the terminal got as one last line."""
    screen, terminal = pty.openpty()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env | {"TERM": "xterm", "COLUMNS": "120"},
        stdout=subprocess.PIPE,
        stderr=terminal,
        text=True,
    )
    os.close(terminal)
    got: list[bytes] = []

    def read() -> None:
        with suppress(OSError):  # EIO once the command closed its side
            while chunk := os.read(screen, 4096):
                got.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    out, _ = process.communicate(timeout=300)
    reader.join(timeout=10)
    os.close(screen)
    return process.returncode, [*out.splitlines(), b"".join(got).decode(errors="replace")]


def _runs(db: Path) -> list[tuple[str, str]]:
    with store.connect(db, read_only=True) as conn:
        return conn.execute("SELECT flow, state FROM runs ORDER BY started_at").fetchall()


def test_with_no_prefect_server_an_ingest_runs_here_and_is_recorded(here):
    """No PREFECT_API_URL, no `newsflow serve`: the pipeline runs in the command's process,
    starts no Prefect server, and records its run as a flow run would."""
    run, db = here
    code, lines = run("ingest")
    assert code == 0, lines[-20:]
    assert lines[0] == "ingesting ferries in this process (no Prefect server) …"
    assert re.fullmatch(r"run [0-9a-f]{32} opened in the warehouse", lines[1])
    assert "ferries" in lines[-1] and lines[-1].split()[-1] == "3"  # stored: 3
    with store.connect(db, read_only=True) as conn:
        runs = conn.execute("SELECT flow, state, new FROM runs").fetchall()
    assert runs == [("ingest", "Completed", 3)]


@pytest.mark.parametrize(
    ("args", "first_line", "last_line", "flow"),
    [
        (
            ["reprocess", "--source", "ferries"],
            "reprocessing in this process (no Prefect server) …",
            "reprocessed 3 articles from the archive",
            "reprocess",
        ),
        (
            ["maintenance"],
            "maintaining the warehouse in this process (no Prefect server) …",
            "released 0 listing bodies, dropped 0 archived bodies",
            "maintenance",
        ),
        (
            ["translate"],
            "translating in this process (no Prefect server) …",
            "articles by translation status: none pending with an installed model",
            "translate_backlog",
        ),
    ],
)
def test_with_no_prefect_server_a_one_off_command_runs_here_and_is_recorded(
    here, args, first_line, last_line, flow
):
    """translate, reprocess and maintenance run the flows' pipeline code in their own process,
    start no Prefect server, and record their run in `runs` as the flow would."""
    run, db = here
    if not db.exists():
        assert run("ingest")[0] == 0
    before = _runs(db)
    code, lines = run(*args)
    assert code == 0, lines[-20:]
    assert (lines[0], lines[-1]) == (first_line, last_line)
    assert _runs(db) == [*before, (flow, "Completed")]


def test_an_ingest_shows_a_progress_bar_on_a_terminal_only(here):
    """Discovery and fetch show a bar on stderr when it is a terminal; piped, not a trace."""
    run, db = here
    if not db.exists():
        assert run("ingest")[0] == 0
    code, lines = run("ingest", "--refetch", "all")  # the three URLs fetched again
    assert code == 0, lines[-20:]
    assert not [line for line in lines if "\x1b" in line or "listing" in line]
    code, lines = run("ingest", "--refetch", "all", terminal=True)
    assert code == 0, lines[-20:]
    screen = lines.pop()
    assert "listing" in screen and "\x1b[" in screen  # the bar, drawn with the terminal's codes
    assert lines[0] == "ingesting ferries in this process (no Prefect server) …"
    assert "ferries" in lines[-1]  # the outcomes table still on stdout, after the bar
