"""`newsflow sql`, `search` and `export` cannot touch files or the network.

A query gets a read-only warehouse and nothing else: no file outside it (read or written), no
URL, no extension download, and no way to switch any of that back on. A real listener on
127.0.0.1 stands for the internet and must receive nothing.
"""

import hashlib
from pathlib import Path

import pytest
from hostile_site import HostileSite

from flows.cli import main
from warehouse import store


@pytest.fixture
def warehouse(tmp_path, monkeypatch, configure) -> Path:
    path = tmp_path / "w.duckdb"
    configure(db=Path(path))
    with store.connect():
        pass
    return path


@pytest.fixture
def internet():
    with HostileSite() as listener:
        yield listener


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sql(capsys, query: str, *options: str) -> tuple[int, str, str]:
    code = main(["sql", query, *options])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_query_cannot_overwrite_the_warehouse(warehouse, capsys):
    before = _digest(warehouse)
    code, _, err = _sql(capsys, f"COPY (SELECT 'x') TO '{warehouse}' (FORMAT csv)")
    assert code == 1 and "Permission Error" in err
    assert _digest(warehouse) == before
    assert _sql(capsys, "select count(*) as n from articles")[0] == 0  # still a warehouse


def test_a_query_cannot_read_the_hosts_files(warehouse, tmp_path, capsys):
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$secret-hash:19000:0:99999:7:::\n")
    for query in (
        f"SELECT * FROM read_csv('{secret}')",
        f"SELECT * FROM read_text('{secret}')",
        f"SELECT * FROM glob('{tmp_path}/*')",
        f"ATTACH '{tmp_path / 'other.duckdb'}' AS other",
    ):
        code, out, err = _sql(capsys, query)
        assert code == 1 and "Permission Error" in err, query
        assert "secret-hash" not in out + err
    assert not (tmp_path / "other.duckdb").exists()


def test_a_query_cannot_reach_the_network_or_install_extensions(warehouse, internet, capsys):
    for query in (
        "INSTALL httpfs",
        f"FORCE INSTALL httpfs FROM '{internet.base_url}'",
        "LOAD httpfs",
        f"SELECT * FROM read_text('{internet.url('/data.txt')}')",
        f"SELECT * FROM read_csv('{internet.url('/data.csv')}')",
    ):
        code, _, err = _sql(capsys, query)
        assert code == 1 and "Permission Error" in err, query
    assert internet.connections == 0


def test_a_query_cannot_switch_the_sandbox_off(warehouse, capsys):
    for setting in (
        "SET enable_external_access = true",
        "SET autoinstall_known_extensions = true",
        "SET allowed_directories = ['/']",
        "RESET lock_configuration",
    ):
        code, _, err = _sql(capsys, setting)
        assert code == 1 and "locked" in err, setting


def test_exports_may_write_in_the_chosen_directory_only(warehouse, tmp_path, capsys):
    out = tmp_path / "exports"
    target = out / "sources.csv"
    code, _, err = _sql(
        capsys, f"COPY (SELECT 1 AS n) TO '{target}' (FORMAT csv)", "--output-dir", str(out)
    )
    assert (code, err) == (0, "")
    assert target.read_text().splitlines() == ["n", "1"]
    outside = tmp_path / "escape.csv"
    code, _, err = _sql(
        capsys, f"COPY (SELECT 1) TO '{out}/../escape.csv' (FORMAT csv)", "--output-dir", str(out)
    )
    assert code == 1 and "Permission Error" in err and not outside.exists()
    assert _sql(capsys, f"COPY (SELECT 1) TO '{out}/again.csv'")[0] == 1  # only when asked


def test_search_and_export_run_on_the_locked_connection(warehouse, tmp_path, capsys, monkeypatch):
    """(tests/test_search.py searches a loaded warehouse through the same connection.)"""
    assert main(["search", "flood"]) == 1
    assert "no search index yet" in capsys.readouterr().err  # search's own answer, not a denial
    with store.connect(warehouse) as conn:
        conn.execute(
            "INSERT INTO articles (url, source_id, text, language, fetched_at, content_hash, "
            "translation_status) VALUES ('https://news.example/1', 'hostile', 'Flood', 'en', "
            "TIMESTAMPTZ '2025-10-03 12:00:00+00', 'h1', 'not_needed')"
        )
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--format", "parquet", "parquet"]) == 0  # a relative directory
    assert "exported 1 stories" in capsys.readouterr().out
    written = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()]
    assert sorted(written) == [
        "parquet/date=2025-10-03/source_id=hostile/data_0.parquet",
        "w.duckdb",
    ]
