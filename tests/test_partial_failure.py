"""One source that cannot be read fails the run by name, and every other source still loads."""

from __future__ import annotations

import duckdb
import pytest
import yaml
from conftest import FAST_POLITENESS

from connectors.config import default_sources_path
from fixture_site import manifest
from flows import cli

DEAD = {
    "id": "gone-daily",
    "name": "A feed that is not there any more",
    "kind": "feed",
    "base_url": "https://gone.example",
    "feed_url": "/rss.xml",
    "language": "en",
}


@pytest.fixture
def with_a_dead_source(prefect_api, site, tmp_path, monkeypatch):
    """Caucasian Knot and a source whose feed answers 404, in a warehouse of their own."""
    config = yaml.safe_load(default_sources_path().read_text(encoding="utf-8"))
    config["sources"] = [s for s in config["sources"] if s["id"] == "caucasian-knot"] + [DEAD]
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("NEWSFLOW_SOURCES", str(sources))
    monkeypatch.setenv("NEWSFLOW_BASE_URL", site.base_url)
    monkeypatch.setenv("NEWSFLOW_POLITENESS", FAST_POLITENESS)
    monkeypatch.setenv("NEWSFLOW_DB", str(tmp_path / "w.duckdb"))
    return tmp_path / "w.duckdb"


def test_a_dead_source_is_a_named_partial_failure_and_the_rest_loads(with_a_dead_source, capsys):
    assert cli.main(["ingest"]) == 1
    verdict = capsys.readouterr().err.strip().splitlines()[-1]
    assert verdict == "partial failure: no listing could be read from gone-daily"
    with duckdb.connect(str(with_a_dead_source), read_only=True) as conn:
        stored = conn.execute("select count(*) from articles").fetchone()[0]
        failed_listing = conn.execute(
            "select outcome, http_status from fetch_log "
            "where source_id = 'gone-daily' and kind = 'listing'"
        ).fetchall()
        runs = conn.execute("select flow, new, failed from runs").fetchall()
    ok = [e for e in manifest() if e["source_id"] == "caucasian-knot"]
    assert stored == len(ok)
    assert failed_listing == [("http_error", 404)]
    assert runs[0][:2] == ("ingest", len(ok)) and runs[0][2] >= 1
