"""`newsflow sql` without a query: DuckDB's shell in a real pseudo-terminal, on a real warehouse.

The tests type as an analyst does (tab completion, the up arrow) and read what the screen
shows; a write, a file read, a host command and a settings change are refused there as in the
one-shot command. With a query, `--format` prints csv, json or markdown for piping.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest
from holding_stream import stream_writes

from flows.cli import main
from warehouse import store

ROOT = Path(__file__).resolve().parents[1]
# a fresh prompt ("w D ", after the file's name) starts a line; redraws while typing do not
PROMPT = r"\n(?:\x1b\[[0-9;]*m)*\w+(?:\x1b\[[0-9;]*m)* D "
# what a terminal answers when the shell asks for its background colour and its kind
ANSWERS = {"\x1b]11;?\x07": "\x1b]11;rgb:ffff/ffff/ffff\x07", "\x1b[c": "\x1b[?62c"}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse file with three articles from two sources."""
    path = tmp_path_factory.mktemp("shell") / "w.duckdb"
    with store.connect(path) as conn:
        conn.execute(
            "INSERT INTO sources (id, name, kind, base_url, language, updated_at) VALUES "
            "('knot', 'Knot', 'feed', 'https://knot.example', 'ru', now()), "
            "('baku', 'Baku Daily', 'feed', 'https://baku.example', 'en', now())"
        )
        conn.execute(
            "INSERT INTO articles (url, source_id, title, text, language, fetched_at, "
            "content_hash, translation_status) VALUES "
            "('https://knot.example/1', 'knot', 'Один', 'текст', 'ru', now(), 'h1', "
            "'pending_model'), "
            "('https://knot.example/2', 'knot', 'Два', 'текст два', 'ru', now(), 'h2', "
            "'pending_model'), "
            "('https://baku.example/1', 'baku', 'One, \"quoted\"', 'text', 'en', now(), 'h3', "
            "'not_needed')"
        )
    return path


class Screen:
    """A shell in a pseudo-terminal that answers the shell's terminal queries like xterm."""

    def __init__(self, warehouse: Path, home: Path) -> None:
        env = {**os.environ, "NEWSFLOW_DB": str(warehouse), "HOME": str(home), "TERM": "xterm"}
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "flows.cli", "sql"],
            env=env,
            cwd=ROOT,
            encoding="utf-8",
            timeout=30,
            dimensions=(50, 200),
        )
        self.prompt()

    def prompt(self) -> str:
        """Everything shown up to the next prompt, without colours."""
        shown = ""
        while True:
            index = self.child.expect([PROMPT, *map(re.escape, ANSWERS)])
            shown += self.child.before + (self.child.after if index else "")
            if index == 0:
                return ANSI.sub("", shown)
            self.child.send(ANSWERS[self.child.after])

    def type(self, *keys: str) -> str:
        """Type keys ending in Enter and return what the screen shows until the next prompt.

        Each argument is a burst of keystrokes, a moment apart: a Tab that arrives in the same
        burst as the text before it is taken as pasted and inserted, as in any line editor.
        """
        for burst in keys:
            self.child.send(burst)
            time.sleep(0.3)
        return self.prompt()

    def quit(self) -> int:
        self.child.send(".quit\r")
        self.child.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus


@pytest.fixture
def shell(warehouse: Path, tmp_path: Path):
    screen = Screen(warehouse, tmp_path)
    yield screen
    if screen.child.isalive():
        screen.child.terminate(force=True)


def test_a_query_typed_in_the_shell_shows_its_result(shell: Screen) -> None:
    shown = shell.type("select source_id, count(*) as n from articles group by 1 order by 1;\r")
    assert re.search(r"│\s*baku\s*│\s*1\s*│", shown)
    assert re.search(r"│\s*knot\s*│\s*2\s*│", shown)
    assert shell.quit() == 0


def test_tab_completes_a_table_name_and_the_up_arrow_recalls_the_last_query(
    shell: Screen, tmp_path: Path
) -> None:
    shown = shell.type("select source_id, articles from daily_c", "\t", " order by 1;\r")
    assert "from daily_counts order by 1;" in shown
    assert re.search(r"│\s*baku\s*│\s*1\s*│", shown) and re.search(r"│\s*knot\s*│\s*2\s*│", shown)
    shown = shell.type("\x1b[A", "\r")  # the up arrow, then Enter
    assert "from daily_counts order by 1;" in shown and re.search(r"│\s*knot\s*│\s*2\s*│", shown)
    assert shell.quit() == 0
    history = (tmp_path / ".duckdb_history").read_text(encoding="utf-8")
    assert "select source_id, articles from daily_counts order by 1;" in history  # kept


def test_the_shell_opens_while_a_run_holds_the_file_and_the_run_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    stream = stream_writes(path, 30)
    try:
        screen = Screen(path, tmp_path)  # the run lets go, and stays out while the shell is open
        shown = screen.type("select count(*) > 2 as some from chunks;\r")
        assert re.search(r"│\s*true\s*│", shown)
        assert screen.quit() == 0
        assert stream.stdout.readline().strip() == "done"
        assert stream.wait(timeout=60) == 0
    finally:
        stream.kill()
        stream.wait()
    with store.connect(path, read_only=True) as conn:
        assert conn.execute("SELECT count(DISTINCT i) FROM chunks").fetchone() == (30,)


def test_the_shell_is_read_only_and_reaches_no_file_command_or_setting(
    shell: Screen, warehouse: Path, tmp_path: Path
) -> None:
    leak = tmp_path / "leak.csv"
    assert "read-only" in shell.type("delete from articles;\r")
    assert "Permission Error" in shell.type(f"copy articles to '{leak}';\r")
    secret = tmp_path / "secret.txt"
    secret.write_text("token,s3cr3t\n")
    shown = shell.type(f"select * from read_csv('{secret}');\r")
    assert "Permission Error" in shown and "s3cr3t" not in shown
    assert "Permission Error" in shell.type(f"attach '{tmp_path / 'other.duckdb'}';\r")
    assert "safe" in shell.type(f".shell touch {leak}\r")
    assert "safe" in shell.type(".read /etc/hostname\r")
    assert "safe" in shell.type(f".output {leak}\r")
    assert "locked" in shell.type("set enable_external_access = true;\r")
    settings = shell.type(
        "select current_setting('enable_external_access') as external, "
        "current_setting('autoinstall_known_extensions') as autoinstall, "
        "current_setting('autoload_known_extensions') as autoload, "
        "current_setting('lock_configuration') as locked;\r"
    )
    assert re.search(r"│\s*false\s*│\s*false\s*│\s*false\s*│\s*true\s*│", settings)
    shell.quit()  # its status is 1, as DuckDB's CLI ends a session that had errors
    assert not leak.exists()
    with store.connect(warehouse, read_only=True) as conn:
        assert conn.execute("select count(*) from articles").fetchone() == (3,)


def test_the_shell_writes_files_inside_output_dir_only(warehouse, tmp_path) -> None:
    allowed, outside = tmp_path / "exports", tmp_path / "outside.csv"
    script = (
        f"copy (select url from articles) to '{allowed / 'urls.csv'}';\n"
        f"copy (select url from articles) to '{outside}';\n"
    )
    env = {**os.environ, "NEWSFLOW_DB": str(warehouse), "HOME": str(tmp_path)}
    command = [sys.executable, "-m", "flows.cli", "sql", "--output-dir", str(allowed)]
    done = subprocess.run(command, input=script, capture_output=True, text=True, env=env, cwd=ROOT)
    assert len((allowed / "urls.csv").read_text().splitlines()) == 4  # a header and 3 URLs
    assert "Permission Error" in done.stderr + done.stdout and not outside.exists()


QUERY = "select source_id, title from articles order by url"


def test_one_shot_formats_for_piping(warehouse, monkeypatch, capsys, configure) -> None:
    configure(db=Path(warehouse))
    assert main(["sql", QUERY, "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [
        ["source_id", "title"],
        ["baku", 'One, "quoted"'],
        ["knot", "Один"],
        ["knot", "Два"],
    ]
    assert main(["sql", QUERY, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[1] == {"source_id": "knot", "title": "Один"}
    assert main(["sql", QUERY, "--format", "markdown"]) == 0
    assert capsys.readouterr().out.splitlines()[:3] == [
        "| source_id | title |",
        "| --- | --- |",
        '| baku | One, "quoted" |',
    ]


def test_one_shot_keeps_the_sandbox(warehouse, monkeypatch, capsys, tmp_path, configure) -> None:
    configure(db=Path(warehouse))
    assert main(["sql", "select * from read_csv('/etc/hostname')", "--format", "csv"]) == 1
    assert "Permission Error" in capsys.readouterr().err
