"""`newsflow sql`: the interactive shell, one-shot output formats and saved questions.

The shell is DuckDB's own CLI (tab completion, history, every output mode) opened read-only,
with the same lockdown as the one-shot command and its safe mode, which refuses the dot
commands that reach the host (`.shell`, `.read`, `.output`, `.open`, `.import`...).
"""

from __future__ import annotations

import csv
import enum
import io
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from connectors.sanitize import csv_cell, markdown_text
from warehouse import store
from warehouse.sandbox import analysis_connection, lockdown_statements


class OutputFormat(enum.StrEnum):
    """How a one-shot query's result is printed."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    MARKDOWN = "markdown"


@dataclass(frozen=True)
class SavedParam:
    """A `-- @param NAME description` line of a saved query; `(optional)` ones may be left out."""

    name: str
    description: str
    optional: bool


_PARAM_LINE = re.compile(r"^--\s*@param\s+(\w+)\s*(.*)$", re.MULTILINE)


def cli_binary() -> Path:
    """The DuckDB CLI that the `duckdb-cli` wheel bundles (never downloaded at run time)."""
    import duckdb_cli

    binary = Path(duckdb_cli.__file__).parent / "duckdb"
    if not binary.is_file():
        raise FileNotFoundError(f"the DuckDB CLI is missing at {binary}: reinstall duckdb-cli")
    return binary


def open_shell(path: Path | None = None, writable_dir: Path | None = None) -> int:
    """Run the interactive shell on the warehouse until the user quits; its exit status.

    The file is first opened the way `newsflow sql` opens it, so a busy warehouse is waited
    for and reported (who holds it) before the shell starts.
    """
    if path is None and store.backend() is not None:
        raise ValueError("the shell opens a DuckDB file; on DuckLake give a query or --file")
    path = Path(path or store.db_path())
    with store.waiting_for(path):  # a run holding the file lets go, and stays out till the end
        return _shell(path, writable_dir)


def _shell(path: Path, writable_dir: Path | None) -> int:
    with analysis_connection(path):
        pass
    # `.safe_mode on` runs the lockdown's last two statements itself (external access off,
    # configuration locked) and also refuses the dot commands that reach the host
    settings = lockdown_statements(writable_dir)[:-2]
    init = "".join(f"{statement};\n" for statement in settings) + ".safe_mode on\n"
    with tempfile.TemporaryDirectory(prefix="newsflow-sql-") as tmp:
        init_file = Path(tmp) / "init.sql"
        init_file.write_text(init)
        command = [str(cli_binary()), "-readonly", "-init", str(init_file), str(path)]
        return subprocess.call(command)


def saved_query(file: Path, values: Mapping[str, str]) -> tuple[str, dict[str, str | None]]:
    """A saved query's SQL and its parameters: the given values, NULL for optional ones left out.

    Refuses a value for a parameter the file does not declare and a missing required one.
    """
    sql = file.read_text(encoding="utf-8")
    declared = {
        name: SavedParam(name, text, text.startswith("(optional)"))
        for name, text in _PARAM_LINE.findall(sql)
    }
    if unknown := sorted(set(values) - set(declared)):
        raise ValueError(
            f"{file} has no parameter {', '.join(unknown)}; it takes: {_usage(declared)}"
        )
    if missing := [p.name for p in declared.values() if not p.optional and p.name not in values]:
        raise ValueError(f"{file} needs --param {'=... --param '.join(missing)}=...")
    return sql, {name: values.get(name) for name in declared}


def _usage(declared: Mapping[str, SavedParam]) -> str:
    return "; ".join(f"{p.name}: {p.description}" for p in declared.values()) or "nothing"


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    """`--param name=value` arguments as a dict."""
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--param {pair!r}: write it as name=value")
        params[name.strip()] = value
    return params


def print_query(
    query: str,
    params: Mapping[str, str | None] | None = None,
    output: OutputFormat = OutputFormat.TABLE,
    max_rows: int = 100,
    writable_dir: Path | None = None,
) -> None:
    """Run one query on the locked-down connection and print its result, if it has one.

    max_rows limits the table only: csv, json and markdown are for piping, so they get all rows.
    """
    with analysis_connection(writable_dir=writable_dir) as conn:
        relation = conn.sql(query, params=dict(params) if params else None)
        if relation is None:
            return
        if output is OutputFormat.TABLE:
            relation.show(max_rows=max_rows, max_width=200)
            return
        columns, rows = relation.columns, relation.fetchall()
    sys.stdout.write(_FORMATTERS[output](columns, rows))


def _csv(columns: Sequence[str], rows: Sequence[tuple]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(map(csv_cell, columns))
    writer.writerows(map(csv_cell, row) for row in rows)  # no formula a spreadsheet would run
    return buffer.getvalue()


def _json(columns: Sequence[str], rows: Sequence[tuple]) -> str:
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    return json.dumps(records, ensure_ascii=False, indent=2, default=str) + "\n"


def _markdown(columns: Sequence[str], rows: Sequence[tuple]) -> str:
    def cell(value: object) -> str:
        return "" if value is None else markdown_text(value)

    lines = ["| " + " | ".join(map(cell, columns)) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


_FORMATTERS = {
    OutputFormat.CSV: _csv,
    OutputFormat.JSON: _json,
    OutputFormat.MARKDOWN: _markdown,
}
