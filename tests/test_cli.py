"""The `newsflow` command as users type it."""

import json
from pathlib import Path

import httpx
import pytest

from fixture_site import manifest
from flows.cli import main


@pytest.fixture
def saved_page(site, tmp_path):
    """A Caucasian Knot page saved to disk as a browser would, with its URL."""
    entry = next(e for e in manifest() if e["source_id"] == "caucasian-knot")
    url = site.source_base("caucasian-knot") + entry["path"]
    path = tmp_path / "page.html"
    path.write_bytes(httpx.get(url).content)
    return path, entry


def test_extract_prints_one_json_object_per_file(saved_page, site, capsys, monkeypatch, configure):
    configure(base_url=site.base_url)
    path, entry = saved_page
    url = site.source_base("caucasian-knot") + entry["path"]
    assert main(["extract", str(path), str(path), "--url", url]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    record = json.loads(lines[0])
    keys = {"url", "title", "text", "language", "author", "published", "published_source"}
    assert set(record) == keys
    assert (record["title"], record["language"]) == (entry["title"], "ru")
    assert record["published"].startswith(entry["published"])
    assert record["published_source"] == "page_metadata"
    assert "ДАННОЕ СООБЩЕНИЕ" not in record["text"]


def test_extract_reads_a_javascript_shell_page_as_ingest_does(
    site, tmp_path, capsys, monkeypatch, configure
):
    """The Toutiao desktop page is a JS shell: its article lives in embedded JSON."""
    configure(base_url=site.base_url)
    url = site.url("toutiao", "/article/7559300187321107466/")
    path = tmp_path / "shell.html"
    path.write_bytes(httpx.get(url).content)
    assert main(["extract", str(path), "--url", url]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["title"] == "阿塞拜疆学者：里海地区合作需要更多务实项目"
    assert record["language"] == "zh" and record["text"].startswith("阿塞拜疆一位国际关系学者")


def test_extract_fails_clearly_on_unreadable_input(saved_page, tmp_path, capsys):
    path, _ = saved_page
    empty = tmp_path / "empty.html"
    empty.write_text("")
    code = main(["extract", str(path), str(tmp_path / "missing.html"), str(empty)])
    captured = capsys.readouterr()
    assert code == 1
    assert len(captured.out.strip().splitlines()) == 1  # the good file still printed
    assert "missing.html" in captured.err and "empty.html" in captured.err


def test_sql_reads_the_warehouse(tmp_path, monkeypatch, capsys, configure):
    from warehouse import store

    configure(db=Path(tmp_path / "w.duckdb"))
    with store.connect():
        pass
    assert main(["sql", "select count(*) as n from articles"]) == 0
    assert "n" in capsys.readouterr().out


def test_sql_refuses_to_write(tmp_path, monkeypatch, capsys, configure):
    from warehouse import store

    configure(db=Path(tmp_path / "w.duckdb"))
    with store.connect():
        pass
    assert main(["sql", "delete from articles"]) == 1
    assert "read-only" in capsys.readouterr().err


def test_sql_without_a_warehouse_says_how_to_make_one(tmp_path, monkeypatch, capsys, configure):
    configure(db=Path(tmp_path / "none.duckdb"))
    assert main(["sql", "select 1"]) == 1
    assert "newsflow demo" in capsys.readouterr().err
