"""The warehouse file: schema on connect, idempotent atomic loads, read-only analysts."""

from datetime import UTC, datetime

import duckdb
import pytest

from connectors.config import load_sources
from connectors.records import FetchAttempt
from processing.records import Article, Outcome, Translation
from warehouse import store
from warehouse.schema import current_version, latest_version

NOW = datetime(2025, 10, 3, 12, 0, tzinfo=UTC)


def _outcome(url: str, text: str = "Текст статьи.", title: str = "Заголовок") -> Outcome:
    article = Article(
        source_id="caucasian-knot",
        url=url,
        title=title,
        text=text,
        language="ru",
        fetched_at=NOW,
        content_hash="h-" + url,
        published_at=NOW,
        translation=Translation("pending_model"),
    )
    return Outcome(FetchAttempt("caucasian-knot", url, "ok", NOW, http_status=200), article)


def _failure(url: str) -> Outcome:
    return Outcome(FetchAttempt("caucasian-knot", url, "http_error", NOW, 500, error="HTTP 500"))


def test_a_new_file_gets_the_latest_schema(tmp_path):
    with store.connect(tmp_path / "w.duckdb") as conn:
        assert current_version(conn) == latest_version()
        tables = {
            r[0]
            for r in conn.execute("select table_name from information_schema.tables").fetchall()
        }
    assert {"sources", "articles", "fetch_log", "schema_version"} <= tables


def test_loading_the_same_batch_twice_adds_no_article(tmp_path):
    batch = [_outcome("https://k/1"), _outcome("https://k/2"), _failure("https://k/3")]
    with store.connect(tmp_path / "w.duckdb") as conn:
        first = store.load_batch(conn, batch, run_id="r1")
        second = store.load_batch(conn, batch, run_id="r2")
        assert (first.inserted, first.duplicates) == (2, 0)
        assert (second.inserted, second.duplicates) == (0, 2)
        assert conn.execute("select count(*) from articles").fetchone() == (2,)
        assert store.run_outcomes(conn, "r1") == {"caucasian-knot": {"http_error": 1, "stored": 2}}
        assert store.run_outcomes(conn, "r2") == {
            "caucasian-knot": {"duplicate": 2, "http_error": 1}
        }


def test_the_same_url_twice_in_one_batch_is_stored_once(tmp_path):
    with store.connect(tmp_path / "w.duckdb") as conn:
        result = store.load_batch(conn, [_outcome("https://k/1"), _outcome("https://k/1")], "r")
        assert (result.inserted, result.duplicates) == (1, 1)


def test_a_failing_batch_leaves_nothing_half_written(tmp_path):
    broken = _outcome("https://k/2", text=None)  # violates NOT NULL on articles.text
    with store.connect(tmp_path / "w.duckdb") as conn:
        with pytest.raises(duckdb.ConstraintException):
            store.load_batch(conn, [_outcome("https://k/1"), broken, _failure("https://k/3")], "r")
        assert conn.execute("select count(*) from articles").fetchone() == (0,)
        assert conn.execute("select count(*) from fetch_log").fetchone() == (0,)


def test_known_urls_answers_only_for_stored_articles(tmp_path):
    with store.connect(tmp_path / "w.duckdb") as conn:
        store.load_batch(conn, [_outcome("https://k/1"), _failure("https://k/3")], "r")
        assert store.known_urls(conn, ["https://k/1", "https://k/3", "https://k/9"]) == {
            "https://k/1"
        }


def test_sources_are_registered_once_per_id(tmp_path):
    with store.connect(tmp_path / "w.duckdb") as conn:
        store.register_sources(conn, load_sources())
        store.register_sources(conn, load_sources())
        ids = [r[0] for r in conn.execute("select id from sources order by id").fetchall()]
    assert ids == sorted(s.id for s in load_sources())


def test_read_only_connection_cannot_write(tmp_path):
    path = tmp_path / "w.duckdb"
    with store.connect(path) as conn:
        store.load_batch(conn, [_outcome("https://k/1")], "r")
    with store.connect(path, read_only=True) as conn:
        assert conn.execute("select title from articles").fetchone() == ("Заголовок",)
        with pytest.raises(duckdb.InvalidInputException):
            conn.execute("delete from articles")


def test_read_only_on_a_missing_file_says_how_to_make_one(tmp_path):
    with (
        pytest.raises(FileNotFoundError, match="newsflow ingest"),
        store.connect(tmp_path / "none.duckdb", read_only=True),
    ):
        pass


def test_db_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSFLOW_DB", str(tmp_path / "x.duckdb"))
    assert store.db_path() == tmp_path / "x.duckdb"
