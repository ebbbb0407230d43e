"""Reprocess works from the raw archive that ingest writes: no network, no second translation."""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import zstandard

from core.settings import Settings, current, use
from fixture_site import FixtureSite
from flows.cli import main
from warehouse import store

ARTICLE_COLUMNS = "url, title, text, language, published_at, translation_status, title_en, text_en"
FAST = "timeout_seconds=1.5,retries=0,backoff_seconds=0.1,delay_seconds=0"


def _rows(query: str) -> list[tuple]:
    with store.connect(read_only=True) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture(scope="module")
def ingested_then_offline(prefect_api, ru_model, tmp_path_factory):
    """`newsflow ingest` against a fixture site that is stopped right after (tests run in order)."""
    db = tmp_path_factory.mktemp("reprocess") / "w.duckdb"
    with use(Settings(db=db, politeness=FAST)):
        with FixtureSite() as site, use(replace(current(), base_url=site.base_url)):
            assert main(["ingest", "--failure-threshold", "1"]) == 0
        yield site


def test_ingest_archives_every_fetched_body(ingested_then_offline):
    assert _rows("select count(*) from articles where raw_sha256 is null") == [(0,)]
    unarchived = _rows(
        "select count(*) from fetch_log where outcome in ('stored', 'listed') "
        "and raw_sha256 not in (select sha256 from raw_archive)"
    )
    assert unarchived == [(0,)]
    kinds = dict(
        _rows("select kind, count(*) from fetch_log where raw_sha256 is not null group by 1")
    )
    assert kinds["listing"] > 0 and kinds["article"] > 0
    # the bodies are packs beside the warehouse: each body a zstd frame of the size recorded,
    # the frames of a pack one after another, and no file that no row names
    archive = store.db_path().with_name(f"{store.db_path().stem}.archive")
    files = {p.relative_to(archive).as_posix(): p for p in archive.rglob("*") if p.is_file()}
    stored = _rows("select sha256, pack, pack_offset, stored_size from raw_archive")
    assert set(files) == {pack for _, pack, _, _ in stored}
    decompressor = zstandard.ZstdDecompressor()
    for pack, path in files.items():
        frames = sorted((offset, size, key) for key, name, offset, size in stored if name == pack)
        assert sum(size for _, size, _ in frames) == path.stat().st_size
        data = path.read_bytes()
        for offset, size, key in frames:
            body = decompressor.decompress(data[offset : offset + size])
            assert hashlib.sha256(body).hexdigest() == key


def test_reprocess_with_the_site_gone_gives_the_same_articles(
    ingested_then_offline, model_calls, capsys
):
    before = _rows(f"select {ARTICLE_COLUMNS} from articles order by url")
    assert len(before) > 10
    assert main(["reprocess", "--chunk-size", "4"]) == 0  # the archive read a chunk at a time
    assert f"reprocessed {len(before)} articles" in capsys.readouterr().out
    assert _rows(f"select {ARTICLE_COLUMNS} from articles order by url") == before
    assert model_calls == []  # every Russian text came from the translation cache
    assert _rows("select flow from runs order by started_at") == [("ingest",), ("reprocess",)]


def test_a_new_cleanup_rule_applies_to_stored_articles_without_fetching(
    ingested_then_offline,
    tmp_path,
    monkeypatch,
    configure,
):
    import yaml

    from connectors.config import default_sources_path

    [(url, text)] = _rows(
        "select url, text from articles where source_id = 'caliber-az' and language = 'en' "
        "order by url limit 1"
    )
    first = text.split("\n")[0]
    document = yaml.safe_load(default_sources_path().read_text(encoding="utf-8"))
    for source in document["sources"]:
        if source["id"] == "caliber-az":
            source["cleanup"]["drop_patterns"].append("^" + first[:30].replace("(", "\\("))
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    configure(sources_file=Path(sources))
    assert main(["reprocess", url]) == 0
    [(after,)] = _rows(f"select text from articles where url = '{url}'")
    assert after == text.split("\n", 1)[1]


def test_a_damaged_archived_body_keeps_its_article_and_costs_no_other(
    ingested_then_offline, tmp_path, configure, caplog, capsys
):
    """A pack cut short (a disk fault): the articles whose frames it lost stay as stored, with
    a warning; the rest are reprocessed."""
    archive = store.db_path().with_name(f"{store.db_path().stem}.archive")
    shutil.copy(store.db_path(), tmp_path / "w.duckdb")
    shutil.copytree(archive, tmp_path / "w.archive")
    configure(db=tmp_path / "w.duckdb")
    stored = _rows(
        "select a.url, r.pack, r.pack_offset from articles a "
        "join raw_archive r on r.sha256 = a.raw_sha256 order by r.pack, r.pack_offset desc"
    )
    url, pack, offset = stored[0]  # the last frame of its pack
    with open(tmp_path / "w.archive" / pack, "r+b") as damaged:
        damaged.truncate(offset + 3)
    before = _rows(f"select {ARTICLE_COLUMNS} from articles where url = '{url}'")

    with caplog.at_level(logging.WARNING, logger="newsflow.archive"):
        assert main(["reprocess"]) == 0
    assert f"reprocessed {len(stored) - 1} articles" in capsys.readouterr().out
    assert f"{url}: kept as stored, archived body" in caplog.text
    assert "is cut short" in caplog.text
    assert _rows(f"select {ARTICLE_COLUMNS} from articles where url = '{url}'") == before
