"""The warehouse file: schema upgrades, idempotent atomic loads, dedup and clusters,
the raw archive, runs, exports, and readers that wait out a writer."""

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from connectors.config import load_sources
from connectors.records import FetchAttempt
from flows import cli
from processing.dedup import content_hash
from processing.records import Article, Outcome, Translation
from warehouse import store
from warehouse.archive import read_body
from warehouse.export import export_parquet
from warehouse.reports import run_report
from warehouse.schema import current_version, latest_version, migrations

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


# --- schema upgrades ------------------------------------------------------------------------


def test_upgrading_a_file_made_with_the_first_schema_keeps_its_data(tmp_path):
    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    old.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ)")
    old.execute(migrations()[0][1])
    old.execute("INSERT INTO schema_version VALUES (1, now())")
    old.execute(
        "INSERT INTO articles (url, source_id, title, text, language, fetched_at, content_hash, "
        "title_en, text_en, translation_status) VALUES ('https://k/old', 'caucasian-knot', "
        "'Старый', 'Старый текст.', 'ru', ?, 'h', 'Old', 'Old text.', 'done')",
        [NOW],
    )
    old.execute(
        "INSERT INTO fetch_log (run_id, source_id, url, outcome, http_status, attempted_at) "
        "VALUES ('r0', 'caucasian-knot', 'https://k/old', 'stored', 200, ?)",
        [NOW],
    )
    old.close()
    with store.connect(path) as conn:
        assert current_version(conn) == latest_version() > 1
        assert conn.execute("select title, text_en from articles").fetchall() == [
            ("Старый", "Old text.")
        ]
        assert conn.execute("select run_id, outcome, raw_sha256 from fetch_log").fetchall() == [
            ("r0", "stored", None)
        ]
        assert conn.execute("select url, title_en from articles_en").fetchall() == [
            ("https://k/old", "Old")
        ]
        store.load_batch(conn, [_outcome("https://k/new")], "r1")
        assert conn.execute("select count(*) from articles").fetchone() == (2,)


# --- exact and near duplicates --------------------------------------------------------------

INTERVIEW = (
    "In an interview the head of the village council said that the bridge over the river "
    "had been closed for three weeks after the spring floods, and that children now walk "
    "two hours to the school in the neighbouring village. The regional ministry promised to "
    "repair it before September but no workers have arrived so far, residents told reporters."
)
UNRELATED = (
    "The national football team won its qualifying match on Saturday with two late goals, "
    "and the coach praised the young defenders who played their first international game "
    "in front of a full stadium in the capital."
)


def _story(
    url: str,
    text: str,
    source_id: str = "caliber-az",
    language: str = "en",
    text_en: str | None = None,
    title: str = "A story",
    body: str | None = None,
) -> Outcome:
    """An extracted article as the pipeline makes it (real content hash), English or translated."""
    translation = (
        Translation("done", "Translated title", text_en, "argos:ru-en@1")
        if text_en
        else Translation("not_needed", title, text)
    )
    article = Article(
        source_id=source_id,
        url=url,
        title=title,
        text=text,
        language=language,
        fetched_at=NOW,
        content_hash=content_hash(text),
        published_at=NOW,
        translation=translation,
    )
    attempt = FetchAttempt(source_id, url, "ok", NOW, 200, "text/html", text=body)
    return Outcome(attempt, article)


def test_the_same_text_under_another_url_is_a_duplicate_of_the_first(tmp_path):
    first = _story("https://a/1", INTERVIEW)
    repost = _story("https://b/1", "  " + INTERVIEW.upper() + "\n", source_id="toutiao")
    with store.connect(tmp_path / "w.duckdb") as conn:
        result = store.load_batch(conn, [first, repost], "r")
        assert (result.inserted, result.duplicates) == (1, 1)
        assert conn.execute("select url, duplicate_of from articles order by url").fetchall() == [
            ("https://a/1", None),
            ("https://b/1", "https://a/1"),
        ]
        assert store.run_outcomes(conn, "r") == {
            "caliber-az": {"stored": 1},
            "toutiao": {"duplicate": 1},
        }
        assert conn.execute("select url from articles_en").fetchall() == [("https://a/1",)]
        assert store.known_urls(conn, ["https://b/1"]) == {"https://b/1"}


def _clusters(conn) -> dict[str, int]:
    return dict(conn.execute("select url, cluster_id from story_clusters").fetchall())


def test_one_story_across_sources_and_languages_lands_in_one_cluster(tmp_path):
    russian = _story(
        "https://k/ru/1",
        "Глава сельсовета рассказал, что мост через реку закрыт уже три недели.",
        source_id="caucasian-knot",
        language="ru",
        text_en=INTERVIEW,
    )
    english = _story("https://c/en/1", INTERVIEW + " Photo: residents at the closed bridge.")
    other = _story("https://c/en/2", UNRELATED)
    with store.connect(tmp_path / "w.duckdb") as conn:
        store.load_batch(conn, [russian, english, other], "r1")
        store.refresh_derived(conn)
        first = _clusters(conn)
        assert first["https://k/ru/1"] == first["https://c/en/1"] != first["https://c/en/2"]
        # A later repost on an aggregator joins the stored story's cluster.
        aggregator = _story(
            "https://t/9", "Reposted from Caucasian Knot. " + INTERVIEW, source_id="toutiao"
        )
        store.load_batch(conn, [aggregator], "r2")
        store.refresh_derived(conn)
        second = _clusters(conn)
        assert second["https://t/9"] == first["https://k/ru/1"]
        assert {k: v for k, v in second.items() if k != "https://t/9"} == first
        stories = conn.execute(
            "select cluster_id, count(*) from articles_en group by 1 order by 2 desc"
        ).fetchall()
        assert [n for _, n in stories] == [3, 1]


# --- raw archive, runs, export ---------------------------------------------------------------


def test_fetched_bodies_are_archived_compressed_and_referenced(tmp_path):
    html = "<html><body>" + "<p>Floods closed the bridge again.</p>" * 200 + "</body></html>"
    failed = FetchAttempt("caliber-az", "https://c/9", "not_html", NOW, 200, "application/pdf")
    batch = [
        _story("https://c/1", INTERVIEW, body=html),
        Outcome(replace(failed, text="%PDF-1.4 not a page")),
    ]
    with store.connect(tmp_path / "w.duckdb") as conn:
        store.load_batch(conn, batch, "r")
        store.load_batch(conn, batch, "r")  # the same bodies are kept once
        keys = dict(conn.execute("select url, raw_sha256 from fetch_log").fetchall())
        assert all(keys.values())
        row = conn.execute("select raw_sha256 from articles").fetchone()
        assert row == (keys["https://c/1"],)
        assert read_body(conn, keys["https://c/1"]) == html
        size, stored = conn.execute(
            "select size, octet_length(body) from raw_archive where sha256 = ?", [row[0]]
        ).fetchone()
        assert size == len(html) and stored < size / 10
        assert conn.execute("select count(*) from raw_archive").fetchone() == (2,)


def test_a_run_is_recorded_with_its_counts(tmp_path):
    batch = [_story("https://c/1", INTERVIEW), _story("https://c/2", INTERVIEW), _failure("x")]
    run = store.RunRecord("r1", "ingest", NOW, NOW + timedelta(minutes=2), {"since": "2025-10-01"})
    with store.connect(tmp_path / "w.duckdb") as conn:
        store.load_batch(conn, batch, "r1")
        store.record_run(conn, run, run_report(conn, "r1"))
        store.record_run(conn, run, run_report(conn, "r1"))  # rewriting a run's row keeps one row
        rows = conn.execute(
            "select run_id, flow, parameters->>'since', fetched, new, duplicate, failed, "
            "translated, ended_at - started_at from runs"
        ).fetchall()
    assert rows == [("r1", "ingest", "2025-10-01", 3, 1, 1, 1, 0, timedelta(minutes=2))]


def test_export_writes_parquet_partitioned_by_date_and_source(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEWSFLOW_DB", str(tmp_path / "w.duckdb"))
    other_day = _story("https://k/1", UNRELATED, source_id="caucasian-knot")
    other_day = replace(
        other_day, article=replace(other_day.article, published_at=NOW + timedelta(days=2))
    )
    with store.connect() as conn:
        store.load_batch(conn, [_story("https://c/1", INTERVIEW), other_day], "r")
    out = tmp_path / "export"
    assert cli.main(["export", "--format", "parquet", "--since", "2025-10-04", str(out)]) == 0
    assert "exported 1 stories" in capsys.readouterr().out
    with store.connect(read_only=True) as conn:
        assert export_parquet(conn, out) == 2
        assert export_parquet(conn, tmp_path / "window", until=NOW.date()) == 1
        files = sorted(p.relative_to(out).parent.as_posix() for p in out.rglob("*.parquet"))
        assert files == [
            "date=2025-10-03/source_id=caliber-az",
            "date=2025-10-05/source_id=caucasian-knot",
        ]
        rows = conn.execute(
            f"select url, title_en, date from read_parquet('{out}/**/*.parquet', "
            "hive_partitioning = true) order by url"
        ).fetchall()
    assert [r[0] for r in rows] == ["https://c/1", "https://k/1"]
    assert str(rows[0][2]) == "2025-10-03"


# --- one writer, readers wait ---------------------------------------------------------------

_WRITER = """
import sys, time
from warehouse import store
with store.connect(sys.argv[1]) as conn:
    conn.execute("BEGIN TRANSACTION")
    conn.execute("CREATE TABLE scratch AS SELECT 1 AS x")
    print("writing", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.execute("COMMIT")
"""


def _start_writer(path, seconds: float) -> subprocess.Popen:
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
    return writer


def test_a_reader_waits_out_a_writer_in_another_process(tmp_path):
    path = tmp_path / "w.duckdb"
    with store.connect(path) as conn:
        store.load_batch(conn, [_outcome("https://k/1")], "r")
    writer = _start_writer(path, 1.5)
    try:
        with store.connect(path, read_only=True, wait_seconds=30) as conn:
            assert conn.execute("select count(*) from articles").fetchone() == (1,)
            assert conn.execute("select count(*) from scratch").fetchone() == (1,)
    finally:
        assert writer.wait(timeout=30) == 0


def test_a_reader_says_which_process_holds_the_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / "w.duckdb"
    writer = _start_writer(path, 30)
    try:
        with (
            pytest.raises(store.WarehouseBusy, match=rf"process {writer.pid} \(.*python"),
            store.connect(path, read_only=True, wait_seconds=0.5),
        ):
            pass
        monkeypatch.setenv("NEWSFLOW_DB", str(path))
        monkeypatch.setattr(store, "READ_WAIT_SECONDS", 0.5)
        assert cli.main(["sql", "select 1"]) == 1
        assert f"process {writer.pid}" in capsys.readouterr().err
    finally:
        writer.kill()
        writer.wait()
