"""The warehouse file: schema upgrades, idempotent atomic chunk commits, the frontier's memory of
stored and failed URLs, dedup and clusters, the raw archive, runs, exports, and readers that
wait out a writer.

Chunks are built as the pipeline core builds them: the fetched page's body travels in its
FetchAttempt, and the article comes from that body through processing.page.process_page.
"""

import hashlib
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import zstandard

from connectors.config import Revisit, load_sources
from connectors.records import FetchAttempt, Link, ListingOutcome, Outcome
from flows import cli
from pipeline.ingest import packed_chunk
from processing.page import process_page
from processing.records import Translation, UrlResult
from warehouse import frontier, store
from warehouse.archive import archived_pages, archived_urls, read_bodies
from warehouse.export import export_parquet
from warehouse.frontier import Claimed
from warehouse.interface import DuckDBWarehouse
from warehouse.loads import RunKey
from warehouse.schema import current_version, latest_version, migrations

NOW = datetime(2025, 10, 3, 12, 0, tzinfo=UTC)
SOURCES = {source.id: source for source in load_sources()}
POLICY = Revisit()  # the defaults a source gets when sources.yaml says nothing

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
RUSSIAN = "Глава сельсовета рассказал, что мост через реку закрыт уже три недели после паводка."


def _html(title: str, text: str, published: datetime = NOW) -> str:
    """A publisher's article page: title, publication time, one <p> per paragraph."""
    paragraphs = "".join(f"<p>{p}</p>" for p in text.split("\n"))
    return (
        f"<!doctype html><html><head><title>{title}</title>"
        f'<meta property="article:published_time" content="{published.isoformat()}">'
        f"</head><body><article>{paragraphs}</article></body></html>"
    )


def _fetched(
    url: str,
    text: str = INTERVIEW,
    source_id: str = "caliber-az",
    title: str = "A story",
    published: datetime = NOW,
    translation: Translation | None = None,
    final_url: str | None = None,
) -> UrlResult:
    """A page fetched and processed as ingest does it, with the translation step's result.

    English needs no translation; other languages stay pending unless one is given.
    """
    html = _html(title, text, published)
    attempt = FetchAttempt(
        source_id, url, Outcome.OK, NOW, 200, "text/html", html, final_url=final_url
    )
    page = process_page(SOURCES[source_id], url, html, "text/html", NOW, final_url)
    assert page.article is not None, page.error
    article = page.article
    if translation is None and article.language == "en":
        translation = Translation("not_needed", article.title, article.text)
    return UrlResult(
        attempt, replace(article, translation=translation or Translation("pending_model"))
    )


def _failed(url: str, status: int = 500, source_id: str = "caucasian-knot") -> UrlResult:
    """An HTTP error as the client records it: a status and a reason, no body."""
    error = f"HTTP {status}"
    return UrlResult(FetchAttempt(source_id, url, Outcome.HTTP_ERROR, NOW, status, error=error))


def _commit(path: Path, *results: UrlResult, run: str = "r", now: datetime = NOW):
    return DuckDBWarehouse(path).commit_chunk(RunKey(run), results, lambda _: POLICY, now)


def _due(conn: duckdb.DuckDBPyConnection, source_id: str, now: datetime) -> list[str]:
    """What a run starting at `now` would fetch of a source (its leases are given back)."""
    claimed = frontier.claim(conn, source_id, "test-run", 100, now, now)
    frontier.release(conn, "test-run")
    return [c.link.url for c in claimed]


def test_a_new_file_gets_the_latest_schema(tmp_path):
    with store.connect(tmp_path / "w.duckdb") as conn:
        assert current_version(conn) == latest_version()
        tables = {
            r[0]
            for r in conn.execute("select table_name from information_schema.tables").fetchall()
        }
    assert {"sources", "articles", "fetch_log", "frontier", "schema_version"} <= tables


def test_committing_the_same_chunk_twice_adds_no_article(tmp_path):
    path = tmp_path / "w.duckdb"
    chunk = (_fetched("https://c/1"), _fetched("https://c/2", UNRELATED), _failed("https://k/3"))
    first = _commit(path, *chunk, run="r1")
    second = _commit(path, *chunk, run="r2")
    assert (first.inserted, first.duplicates) == (2, 0)
    assert (second.inserted, second.duplicates) == (0, 2)
    with store.connect(path) as conn:
        assert conn.execute("select count(*) from articles").fetchone() == (2,)
        assert conn.execute("select count(*) from frontier").fetchone() == (3,)
        assert store.run_outcomes(conn, "r1") == {
            "caliber-az": {"stored": 2},
            "caucasian-knot": {"http_error": 1},
        }
        assert store.run_outcomes(conn, "r2") == {
            "caliber-az": {"duplicate": 2},
            "caucasian-knot": {"http_error": 1},
        }


def test_the_same_url_twice_in_one_chunk_is_stored_once(tmp_path):
    result = _commit(tmp_path / "w.duckdb", _fetched("https://c/1"), _fetched("https://c/1"))
    assert (result.inserted, result.duplicates) == (1, 1)


def test_a_chunk_that_fails_to_commit_leaves_nothing_half_written(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    warehouse = DuckDBWarehouse(path)
    listed = [Link("caliber-az", "https://c/1"), Link("caliber-az", "https://c/2")]
    warehouse.record_listings(RunKey("r"), [], listed, NOW)

    def disk_full(*args: object) -> None:  # the last write of the chunk's transaction
        raise duckdb.IOException("No space left on device")

    monkeypatch.setattr(frontier, "write_states", disk_full)
    chunk = (_fetched("https://c/1"), _fetched("https://c/2", UNRELATED))
    with pytest.raises(duckdb.IOException, match="No space left"):
        _commit(path, *chunk)
    with store.connect(path) as conn:
        assert conn.execute("select count(*) from articles").fetchone() == (0,)
        assert conn.execute("select count(*) from fetch_log").fetchone() == (0,)
        assert conn.execute("select distinct state from frontier").fetchall() == [("discovered",)]
        assert _due(conn, "caliber-az", NOW) == ["https://c/1", "https://c/2"]
        assert conn.execute("select count(*) from raw_archive").fetchone() == (0,)
    lost = list((tmp_path / "w.archive").rglob("*.pack"))  # written, named by no row
    assert len(lost) == 1
    monkeypatch.undo()
    assert _commit(path, *chunk).inserted == 2  # the next run commits it whole
    with store.connect(path) as conn:  # in a pack of its own; maintenance sweeps the lost one
        assert conn.execute("select count(distinct pack) from raw_archive").fetchone() == (1,)
        assert conn.execute("select count(*) from raw_archive").fetchone() == (2,)
        lost_name = lost[0].relative_to(tmp_path / "w.archive").as_posix()
        assert conn.execute("select pack from raw_archive").fetchone() != (lost_name,)


def test_a_stored_url_is_never_due_and_a_failed_one_is_due_after_its_back_off(tmp_path):
    path = tmp_path / "w.duckdb"
    warehouse = DuckDBWarehouse(path)
    urls = ["https://k/1", "https://k/3", "https://k/9"]
    listing = _listing("caucasian-knot", "https://k/rss", urls)
    links = [Link("caucasian-knot", url) for url in urls]
    assert warehouse.record_listings(RunKey("r1"), [listing], links, NOW) == 3
    # published a month ago: past the days in which stored articles are re-checked for edits
    russian = _fetched("https://k/1", RUSSIAN, "caucasian-knot", published=NOW - timedelta(30))
    _commit(path, russian, _failed("https://k/3", 503), run="r1")  # k/9 not fetched yet
    assert warehouse.record_listings(RunKey("r2"), [listing], links, NOW) == 0
    first_retry = NOW + timedelta(hours=POLICY.transient_backoff_hours[0])
    with store.connect(path) as conn:
        assert _due(conn, "caucasian-knot", NOW + timedelta(minutes=1)) == ["https://k/9"]
        assert _due(conn, "caucasian-knot", first_retry) == ["https://k/3", "https://k/9"]
        assert "https://k/1" not in _due(conn, "caucasian-knot", NOW + timedelta(days=3650))


def test_a_listed_url_that_redirects_becomes_an_alias_of_the_stored_article(tmp_path):
    path = tmp_path / "w.duckdb"
    old = NOW - timedelta(30)  # past the days in which stored articles are re-checked for edits
    _commit(path, _fetched("https://c/r/1", final_url="https://c/en/1", published=old))
    with store.connect(path) as conn:
        assert conn.execute("select url from articles").fetchall() == [("https://c/en/1",)]
        assert conn.execute(
            "select url, state, resolved_url, via, next_due from frontier order by url"
        ).fetchall() == [
            ("https://c/en/1", "stored", "https://c/en/1", None, None),
            ("https://c/r/1", "alias", "https://c/en/1", "redirect", None),
        ]
        assert _due(conn, "caliber-az", NOW + timedelta(days=3650)) == []


def test_sources_are_registered_once_per_id(tmp_path):
    with store.connect(tmp_path / "w.duckdb") as conn:
        store.register_sources(conn, load_sources())
        store.register_sources(conn, load_sources())
        ids = [r[0] for r in conn.execute("select id from sources order by id").fetchall()]
    assert ids == sorted(s.id for s in load_sources())


def test_read_only_connection_cannot_write(tmp_path):
    path = tmp_path / "w.duckdb"
    _commit(path, _fetched("https://c/1", title="Bridge closed"))
    with store.connect(path, read_only=True) as conn:
        assert conn.execute("select title from articles").fetchone() == ("Bridge closed",)
        with pytest.raises(duckdb.InvalidInputException):
            conn.execute("delete from articles")


def test_read_only_on_a_missing_file_says_how_to_make_one(tmp_path):
    with (
        pytest.raises(FileNotFoundError, match="newsflow ingest"),
        store.connect(tmp_path / "none.duckdb", read_only=True),
    ):
        pass


def test_db_path_follows_the_environment(monkeypatch, tmp_path, configure):
    configure(db=Path(tmp_path / "x.duckdb"))
    assert store.db_path() == tmp_path / "x.duckdb"


# --- schema upgrades ------------------------------------------------------------------------


def test_upgrading_a_file_made_with_the_first_schema_keeps_its_data(tmp_path):
    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    old.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ)")
    migrations()[0][1](old, str)
    old.execute("INSERT INTO schema_version VALUES (1, now())")
    old.execute(
        "INSERT INTO articles (url, source_id, title, text, language, fetched_at, content_hash, "
        "title_en, text_en, translation_status) VALUES ('https://k/old', 'caucasian-knot', "
        "'Старый', 'Старый текст.', 'ru', ?, 'h', 'Old', 'Old text.', 'done')",
        [NOW],
    )
    earlier = NOW - timedelta(days=2)
    log = (
        "INSERT INTO fetch_log (run_id, source_id, url, outcome, http_status, error, attempted_at) "
        "VALUES (?, 'caucasian-knot', ?, ?, ?, ?, ?)"
    )
    old.execute(log, ["r0", "https://k/rss", "listed", 200, None, earlier])
    old.execute(log, ["r0", "https://k/old", "stored", 200, None, earlier])
    old.execute(log, ["r0", "https://k/gone", "http_error", 404, "HTTP 404", earlier])
    old.execute(log, ["r1", "https://k/gone", "http_error", 404, "HTTP 404", NOW])
    old.close()
    with store.connect(path) as conn:
        assert current_version(conn) == latest_version() > 1
        assert conn.execute("select title, text_en from articles").fetchall() == [
            ("Старый", "Old text.")
        ]
        assert conn.execute(
            "select run_id, outcome, raw_sha256 from fetch_log order by id"
        ).fetchall() == [
            ("r0", "listed", None),
            ("r0", "stored", None),
            ("r0", "http_error", None),
            ("r1", "http_error", None),
        ]
        assert conn.execute("select url, title_en from articles_en").fetchall() == [
            ("https://k/old", "Old")
        ]
        # Migration 0006 seeds the frontier: the old article is stored, the failure's history
        # is counted and left for the revisit policy; listings are not frontier URLs.
        assert conn.execute(
            "select url, state, resolved_url, attempts, last_status, last_error, next_due "
            "from frontier order by url"
        ).fetchall() == [
            ("https://k/gone", "http_error", None, 2, 404, "HTTP 404", NOW),
            ("https://k/old", "stored", "https://k/old", 0, None, None, None),
        ]
        assert _due(conn, "caucasian-knot", NOW + timedelta(minutes=1)) == ["https://k/gone"]
    _commit(path, _fetched("https://k/new", RUSSIAN, "caucasian-knot"))
    with store.connect(path) as conn:
        assert conn.execute("select count(*) from articles").fetchone() == (2,)


def test_a_migration_numbered_below_an_applied_one_is_still_applied(tmp_path):
    # Parallel work on the schema: 0008 reached this file before 0006 and 0007 were written.
    path = tmp_path / "gap.duckdb"
    early = [(v, apply) for v, apply in migrations() if v <= 5 or v == 8]
    made = duckdb.connect(str(path))
    made.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ)"
    )
    for version, apply in early:
        apply(made, str)
        made.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    made.close()
    with store.connect(path) as conn:
        applied = conn.execute("select version from schema_version order by 1").fetchall()
    assert [v for (v,) in applied] == [v for v, _ in migrations()]


# --- exact and near duplicates --------------------------------------------------------------


def test_the_same_text_under_another_url_is_a_duplicate_of_the_first(tmp_path):
    path = tmp_path / "w.duckdb"
    first = _fetched("https://a/1")
    repost = _fetched("https://b/1", "  " + INTERVIEW.upper() + "\n", source_id="toutiao")
    result = _commit(path, first, repost)
    assert (result.inserted, result.duplicates) == (1, 1)
    with store.connect(path) as conn:
        assert conn.execute("select url, duplicate_of from articles order by url").fetchall() == [
            ("https://a/1", None),
            ("https://b/1", "https://a/1"),
        ]
        assert store.run_outcomes(conn, "r") == {
            "caliber-az": {"stored": 1},
            "toutiao": {"duplicate": 1},
        }
        assert conn.execute("select url from articles_en").fetchall() == [("https://a/1",)]
        assert conn.execute(
            "select state, resolved_url, via from frontier where url = 'https://b/1'"
        ).fetchall() == [("duplicate", "https://a/1", "text")]
        assert _due(conn, "toutiao", NOW + timedelta(days=3650)) == []


def _clusters(path: Path) -> dict[str, int]:
    with store.connect(path, read_only=True) as conn:
        return dict(conn.execute("select url, cluster_id from story_clusters").fetchall())


def test_one_story_across_sources_and_languages_lands_in_one_cluster(tmp_path):
    path = tmp_path / "w.duckdb"
    translated = Translation("done", "Bridge closed", INTERVIEW, "argos:ru-en@1")
    russian = _fetched("https://k/ru/1", RUSSIAN, "caucasian-knot", translation=translated)
    english = _fetched("https://c/en/1", INTERVIEW + "\nPhoto: residents at the closed bridge.")
    other = _fetched("https://c/en/2", UNRELATED)
    _commit(path, russian, english, other, run="r1")
    first = _clusters(path)
    assert first["https://k/ru/1"] == first["https://c/en/1"] != first["https://c/en/2"]
    # A later repost on an aggregator joins the stored story's cluster.
    aggregator = _fetched("https://t/9", "Reposted from Caucasian Knot.\n" + INTERVIEW, "toutiao")
    _commit(path, aggregator, run="r2")
    second = _clusters(path)
    assert second["https://t/9"] == first["https://k/ru/1"]
    assert {k: v for k, v in second.items() if k != "https://t/9"} == first
    with store.connect(path, read_only=True) as conn:
        stories = conn.execute(
            "select cluster_id, count(*) from articles_en group by 1 order by 2 desc"
        ).fetchall()
    assert [n for _, n in stories] == [3, 1]


# --- raw archive, runs, export ---------------------------------------------------------------


def _listing(source_id: str, url: str, links: list[str], when: datetime = NOW) -> FetchAttempt:
    """A feed read by discovery, with its body as fetched."""
    items = "".join(f"<item><link>{link}</link></item>" for link in links)
    body = f"<rss><channel>{items}</channel></rss>"
    listed, rss = ListingOutcome.LISTED, "application/rss+xml"
    return FetchAttempt(source_id, url, listed, when, 200, rss, body, kind="listing")


def test_a_chunk_whose_bodies_wait_packed_is_stored_as_one_with_its_text(tmp_path):
    """The pipeline packs a chunk's bodies once fetched and lets their text go (memory): the
    commit must archive and reference them exactly as it does from the text."""
    chunk = [_fetched("https://c/1"), _fetched("https://c/2", "Floods closed the bridge. " * 40)]
    chunk.append(_failed("https://c/3"))
    listed = Claimed(Link("caliber-az", "https://c/"), 0)  # what packing ignores
    packed_as_fetched = packed_chunk([(listed, r.attempt) for r in chunk])
    bodies = packed_as_fetched.bodies
    without_text = [
        replace(r, attempt=a) for r, (_, a) in zip(chunk, packed_as_fetched.fetched, strict=True)
    ]
    assert [r.attempt.text for r in without_text] == [None] * 3 and len(bodies) == 2
    stored = []
    for name, results, packed in (("text", chunk, None), ("packed", without_text, bodies)):
        path = tmp_path / f"{name}.duckdb"
        DuckDBWarehouse(path).commit_chunk(RunKey("r"), results, lambda _: POLICY, NOW, packed)
        with store.connect(path) as conn:
            keys = conn.execute("select url, raw_sha256 from fetch_log order by url").fetchall()
            archive = conn.execute(
                "select * exclude (pack) from raw_archive order by sha256"  # a new name each
            ).fetchall()
            articles = conn.execute("select url, raw_sha256 from articles order by url").fetchall()
            texts = read_bodies(conn, [k for _, k in keys if k])
        archived = path.with_suffix(".archive").rglob("*")
        files = sorted(f.read_bytes() for f in archived if f.is_file())
        stored.append((keys, archive, articles, texts, files))
    assert stored[0] == stored[1]
    assert stored[0][0][2] == ("https://c/3", None) and len(stored[0][4]) == 1  # one pack


def test_fetched_bodies_are_archived_compressed_and_referenced(tmp_path):
    path = tmp_path / "w.duckdb"
    story = _fetched("https://c/1", "\n".join([INTERVIEW] + ["Floods closed the bridge."] * 200))
    html = story.attempt.text
    # A text/plain answer is fetched and archived, and processing says it is not a page.
    notice = "Bridge timetable: closed until September."
    plain = FetchAttempt("caliber-az", "https://c/9", Outcome.OK, NOW, 200, "text/plain", notice)
    page = process_page(SOURCES["caliber-az"], plain.url, notice, plain.content_type, NOW)
    not_a_page = UrlResult(replace(plain, outcome=page.outcome, error=page.error))
    assert not_a_page.attempt.outcome == Outcome.NOT_HTML
    _commit(path, story, not_a_page)
    _commit(path, story, not_a_page)  # the same bodies are kept once
    with store.connect(path) as conn:
        keys = dict(conn.execute("select url, raw_sha256 from fetch_log").fetchall())
        assert all(keys.values()) and len(keys) == 2
        row = conn.execute("select raw_sha256 from articles").fetchone()
        assert row == (keys["https://c/1"],)
        assert read_bodies(conn, [keys["https://c/1"], keys["https://c/9"]]) == [html, notice]
        size, stored = conn.execute(
            "select size, stored_size from raw_archive where sha256 = ?", [row[0]]
        ).fetchone()
        assert size == len(html) and stored < size / 10
        assert conn.execute("select count(*) from raw_archive").fetchone() == (2,)
        places = conn.execute(
            "select sha256, pack, pack_offset, stored_size from raw_archive order by pack_offset"
        ).fetchall()
    # the bodies are one pack beside the warehouse (the second commit wrote none): their zstd
    # frames one after another, where the rows say
    files = [p for p in (tmp_path / "w.archive").rglob("*") if p.is_file()]
    assert [p.relative_to(tmp_path / "w.archive").as_posix() for p in files] == [places[0][1]]
    frames = files[0].read_bytes()
    assert [(pack, offset) for _, pack, offset, _ in places] == [
        (places[0][1], 0),
        (places[0][1], places[0][3]),
    ]
    assert len(frames) == sum(size for *_, size in places)
    decompressor = zstandard.ZstdDecompressor()
    for sha256, _, offset, size in places:
        body = decompressor.decompress(frames[offset : offset + size])
        assert hashlib.sha256(body).hexdigest() == sha256


def test_the_archive_goes_where_newsflow_archive_says(tmp_path, monkeypatch, configure):
    configure(archive=Path(tmp_path / "shared" / "bodies"))
    _commit(tmp_path / "w.duckdb", _fetched("https://c/1"))
    assert len(list((tmp_path / "shared" / "bodies" / "packs").rglob("*.pack"))) == 1
    assert not (tmp_path / "w.archive").exists()


def test_upgrading_moves_archived_bodies_out_of_the_table_into_files(tmp_path):
    path = tmp_path / "w.duckdb"
    before = duckdb.connect(str(path))
    before.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ)"
    )
    for version, apply in migrations():
        if version < 13:
            apply(before, str)
            before.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    html = _html("Kept", INTERVIEW)
    key = hashlib.sha256(html.encode()).hexdigest()
    before.execute(
        "INSERT INTO raw_archive VALUES (?, 'text/html', ?, ?, ?)",
        [key, len(html.encode()), zstandard.ZstdCompressor().compress(html.encode()), NOW],
    )
    before.execute(
        "INSERT INTO articles (url, source_id, title, text, language, fetched_at, content_hash, "
        "translation_status, raw_sha256) "
        "VALUES ('https://c/kept', 'caliber-az', 'Kept', 'text', 'en', ?, 'h', 'original', ?)",
        [NOW, key],
    )
    before.close()
    with store.connect(path) as conn:
        assert "body" not in [c[0] for c in conn.execute("describe raw_archive").fetchall()]
        pages = archived_pages(conn, archived_urls(conn))
        assert [(p.url, p.html) for p in pages] == [("https://c/kept", html)]
    assert (tmp_path / "w.archive" / key[:2] / key[2:4] / f"{key}.zst").is_file()
    # bodies archived since go to packs (0021); both layouts are read, in one call too
    later = _fetched("https://c/later", "Floods closed the bridge. " * 40)
    _commit(path, later)
    with store.connect(path) as conn:
        rows = conn.execute("select sha256, pack from raw_archive order by pack nulls first")
        (old, none), (new, pack) = rows.fetchall()
        assert (old, none) == (key, None) and pack.startswith("packs/")
        assert read_bodies(conn, [new, old, new]) == [later.attempt.text, html, later.attempt.text]
        pages = archived_pages(conn, archived_urls(conn))
        assert [(p.url, p.html) for p in pages] == [
            ("https://c/kept", html),
            ("https://c/later", later.attempt.text),
        ]


def test_a_run_is_recorded_with_its_counts(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    run = RunKey("r1")
    urls = ["https://c/1", "https://c/2", "https://c/x"]
    listing = _listing("caliber-az", "https://c/rss", urls)
    warehouse.record_listings(run, [listing], [Link("caliber-az", url) for url in urls], NOW)
    failure = _failed("https://c/x", 500, "caliber-az")
    chunk = (_fetched("https://c/1"), _fetched("https://c/2"), failure)
    warehouse.commit_chunk(run, chunk, lambda _: POLICY, NOW)
    record = store.RunRecord(
        "r1", 1, "ingest", NOW, NOW + timedelta(minutes=2), {"since": "2025-10-01"}
    )
    warehouse.record_run(record, warehouse.run_report(run), "Completed")
    warehouse.record_run(record, warehouse.run_report(run), "Completed")  # rewritten, one row
    with store.connect(warehouse.path, read_only=True) as conn:
        rows = conn.execute(
            "select run_id, attempt, flow, parameters->>'since', fetched, new, duplicate, "
            "failed, translated, ended_at - started_at, state from runs"
        ).fetchall()
    assert rows == [
        ("r1", 1, "ingest", "2025-10-01", 3, 1, 1, 1, 0, timedelta(minutes=2), "Completed")
    ]


def test_export_writes_parquet_partitioned_by_date_and_source(
    tmp_path, monkeypatch, capsys, configure
):
    configure(db=Path(tmp_path / "w.duckdb"))
    later = NOW + timedelta(days=2)
    other_day = _fetched("https://k/1", UNRELATED, "caucasian-knot-en", published=later)
    _commit(store.db_path(), _fetched("https://c/1"), other_day)
    out = tmp_path / "export"
    assert cli.main(["export", "--format", "parquet", "--since", "2025-10-04", str(out)]) == 0
    assert "exported 1 stories" in capsys.readouterr().out
    with store.connect(read_only=True) as conn:
        assert export_parquet(conn, out) == 2
        assert export_parquet(conn, tmp_path / "window", until=NOW.date()) == 1
        files = sorted(p.relative_to(out).parent.as_posix() for p in out.rglob("*.parquet"))
        assert files == [
            "date=2025-10-03/source_id=caliber-az",
            "date=2025-10-05/source_id=caucasian-knot-en",
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
    _commit(path, _fetched("https://c/1"))
    writer = _start_writer(path, 1.5)
    try:
        with store.connect(path, read_only=True, wait_seconds=30) as conn:
            assert conn.execute("select count(*) from articles").fetchone() == (1,)
            assert conn.execute("select count(*) from scratch").fetchone() == (1,)
    finally:
        assert writer.wait(timeout=30) == 0


def test_a_reader_says_which_process_holds_the_file(tmp_path, monkeypatch, capsys, configure):
    path = tmp_path / "w.duckdb"
    writer = _start_writer(path, 30)
    try:
        with (
            pytest.raises(store.WarehouseBusy, match=rf"process {writer.pid} \(.*python"),
            store.connect(path, read_only=True, wait_seconds=0.5),
        ):
            pass
        configure(db=Path(path))
        monkeypatch.setattr(store, "READ_WAIT_SECONDS", 0.5)
        assert cli.main(["sql", "select 1"]) == 1
        assert f"process {writer.pid}" in capsys.readouterr().err
    finally:
        writer.kill()
        writer.wait()


def test_a_worker_is_told_where_its_warehouse_is_once_it_is_open(tmp_path):
    where, shared = DuckDBWarehouse(tmp_path / "w.duckdb").describe()
    assert (where, shared) == (f"the DuckDB file {tmp_path / 'w.duckdb'}", False)
    with store.connect(tmp_path / "w.duckdb", read_only=True) as conn:  # migrated on opening
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (0,)
