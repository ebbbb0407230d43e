"""Reprocess from the raw archive: re-extract, re-detect and re-translate without fetching."""

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from connectors.config import load_sources
from connectors.records import FetchAttempt
from processing.article import build_article
from processing.records import Outcome
from warehouse import store

PAGE = Path(__file__).parent.parent / "fixture_site/site/caucasian-knot/articles/415901/index.html"
URL = "https://www.kavkaz-uzel.eu/articles/415901"  # not served here: a fetch would fail
NOW = datetime(2025, 10, 3, 12, 0, tzinfo=UTC)


def test_reprocess_rebuilds_chosen_articles_from_the_archive(
    prefect_api, ru_model, tmp_path, monkeypatch
):
    from flows.reprocess import reprocess

    monkeypatch.setenv("NEWSFLOW_DB", str(tmp_path / "w.duckdb"))
    html = PAGE.read_text(encoding="utf-8")
    source = next(s for s in load_sources() if s.id == "caucasian-knot")
    fresh = build_article(source, URL, html, NOW)
    # As stored by an older version: stale text, no model for Russian yet.
    stale = replace(fresh, url=URL, text="old text", language="und", translation=None)
    other = replace(stale, url=URL + "0", text="other text")
    attempt = FetchAttempt(source.id, URL, "ok", NOW, 200, "text/html", text=html)
    with store.connect() as conn:
        store.load_batch(conn, [Outcome(attempt, stale), Outcome(attempt, other)], "r0")

    assert reprocess(urls=[URL]) == 1

    with store.connect(read_only=True) as conn:
        rows = conn.execute(
            "select url, text, language, translation_status, translation_model, text_en "
            "from articles order by url"
        ).fetchall()
        clustered = conn.execute("select count(*) from story_clusters").fetchone()
        runs = conn.execute("select flow, parameters->>'urls' from runs").fetchall()
        aligned = conn.execute("select count(*) from paragraphs where url = ?", [URL]).fetchone()
    (url, text, language, status, model, text_en), untouched = rows
    assert (url, text, language) == (URL, fresh.text, "ru")
    assert (status, model) == ("done", ru_model.model_id) and text_en
    assert untouched[1:4] == ("other text", "und", "pending_model")
    assert clustered == (2,)
    assert aligned is not None and aligned[0] == len(fresh.text.split("\n"))
    assert runs == [("reprocess", f'["{URL}"]')]
