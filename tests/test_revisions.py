"""Updates: recent articles are re-checked with conditional GETs, and an edit is kept.

Caliber.Az corrects a story after publication (fixture_site/updates/: a figure changed and an
update line added). Daily runs re-check what was published in the last days; a page that did
not change answers 304 and costs nothing, an edited one becomes a revision that `newsflow sql`
shows beside the first version.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import FAST_POLITENESS
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from connectors.config import PROJECT_ROOT, load_sources
from connectors.http import HttpClient
from connectors.records import FetchAttempt, Outcome
from core.settings import Settings, use
from fixture_site import FixtureSite, manifest
from flows.cli import main
from pipeline.ingest import IngestRun, ingest_source
from pipeline.pages import PageProcessor
from processing.page import process_page
from processing.records import UrlResult
from warehouse import store
from warehouse.interface import DuckDBWarehouse
from warehouse.loads import RunKey

EDITED = "/en/post/azerbaijan-and-kazakhstan-agree-to-expand-caspian-ferry-fleet"
ARTICLES = {f"/caliber-az{e['path']}" for e in manifest() if e["source_id"] == "caliber-az"}


def _caliber_sources(tmp_path, **revisit: object) -> str:
    """The shipped caliber-az entry alone, with a revisit policy laid over it."""
    document = yaml.safe_load((PROJECT_ROOT / "sources.yaml").read_text(encoding="utf-8"))
    [source] = [s for s in document["sources"] if s["id"] == "caliber-az"]
    if revisit:
        source["revisit"] = revisit
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [source]}, allow_unicode=True), encoding="utf-8")
    return str(path)


def _article_requests(site: FixtureSite, since: int) -> dict[str, int]:
    """Article pages requested since the `since`-th request, with the status they got."""
    return {r.path: r.status for r in site.requests[since:] if r.path in ARTICLES}


def _sql(capsys: pytest.CaptureFixture[str], query: str) -> list[dict]:
    """Rows of `newsflow sql QUERY --format json`, as a user would pipe them."""
    capsys.readouterr()
    assert main(["sql", query, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def runs(prefect_api, tmp_path_factory):
    """Three `newsflow ingest` runs on a site of its own: first, unchanged, after an edit.

    The fixture stories date from October 2025, so the source re-checks a long window, at
    every run: the schedule of the default policy is tested below with a clock.
    """
    tmp = tmp_path_factory.mktemp("revisions")
    sources = _caliber_sources(tmp, recheck_days=3650, recheck_every_hours=0)
    with FixtureSite() as site:
        configured = Settings(
            sources_file=Path(sources),
            base_url=site.base_url,
            politeness=FAST_POLITENESS,
            db=tmp / "newsflow.duckdb",
        )
        with use(configured):
            marks = [0]
            for edited in (False, False, True):
                if edited:
                    site.publish_updates()
                assert main(["ingest"]) == 0
                marks.append(len(site.requests))
            requests = [
                {r.path: r.status for r in site.requests[a:b] if r.path in ARTICLES}
                for a, b in zip(marks, marks[1:], strict=False)
            ]
            yield site, requests


def test_an_unchanged_article_is_rechecked_with_a_conditional_get_that_costs_nothing(runs, capsys):
    site, requests = runs
    first, unchanged, _ = requests
    assert first == dict.fromkeys(ARTICLES, 200)
    assert unchanged == dict.fromkeys(ARTICLES, 304)
    asked = [r for r in site.requests if r.path in ARTICLES and r.status == 304]
    assert all("if-none-match" in r.headers and "if-modified-since" in r.headers for r in asked)
    [second_run] = _sql(
        capsys,
        "select count(*) filter (outcome = 'not_modified') as not_modified, count(*) as logged "
        "from fetch_log where kind = 'article' and run_id = "
        "(select run_id from fetch_log group by 1 order by min(attempted_at) limit 1 offset 1)",
    )
    assert second_run == {"not_modified": len(ARTICLES), "logged": len(ARTICLES)}


def test_an_edited_article_keeps_both_versions_and_shows_the_newest(runs, capsys):
    site, requests = runs
    assert requests[2] == {**dict.fromkeys(ARTICLES, 304), f"/caliber-az{EDITED}": 200}
    url = site.url("caliber-az", EDITED)
    revisions = _sql(
        capsys,
        "select revision, text, sha256, previous_sha256, chars_changed, similarity "
        f"from article_revisions where url = '{url}' order by revision",
    )
    assert [r["revision"] for r in revisions] == [1, 2]
    first, second = revisions
    assert "four new ferries" in first["text"] and "six new ferries" in second["text"]
    assert second["text"].endswith("expected to enter service in 2026.")
    assert first["sha256"] == hashlib.sha256(first["text"].encode()).hexdigest()
    assert second["previous_sha256"] == first["sha256"] and first["previous_sha256"] is None
    # "four" -> "six" and the update line: a small edit of a long text
    update_line = second["text"].split("\n")[-1]
    assert len(update_line) < second["chars_changed"] < len(update_line) + 10
    assert 0.9 < second["similarity"] < 1
    [row] = _sql(capsys, f"select text, title from articles where url = '{url}'")
    assert row["text"] == second["text"]
    [state] = _sql(
        capsys,
        f"select f.state, l.outcome from frontier f join fetch_log l using (url) "
        f"where url = '{url}' order by l.attempted_at desc limit 1",
    )
    assert state == {"state": "stored", "outcome": "revised"}


def test_the_run_summary_counts_the_revised_article(runs, capsys):
    [last] = _sql(
        capsys, "select run_id from fetch_log group by 1 order by min(attempted_at) desc limit 1"
    )
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[last["run_id"]])
            )
        )
    [summary] = [a.data for a in artifacts if a.key == "ingest-summary"]
    assert "| fetched | new | revised | duplicate |" in summary
    assert re.search(r"\| caliber-az \| \d+ \| 0 \| 1 \| 0 \|", summary), summary


def test_only_the_edited_article_was_revised(runs, capsys):
    assert _sql(capsys, "select count(distinct url) as n from article_revisions") == [{"n": 1}]
    assert _sql(capsys, "select count(*) as n from articles") == [{"n": len(ARTICLES)}]


def test_search_finds_the_words_the_edit_added(runs, capsys):
    site, _ = runs
    capsys.readouterr()
    assert main(["search", "Kuryk shipyard"]) == 0
    assert site.url("caliber-az", EDITED) in capsys.readouterr().out


def test_by_default_an_article_is_rechecked_on_the_two_daily_runs_after_it_came_out(
    site,
    tmp_path,
    monkeypatch,
    configure,
):
    """The default policy (2 days, at most every 12 hours), run day after day with a clock."""
    configure(sources_file=Path(_caliber_sources(tmp_path)))
    configure(base_url=site.base_url)
    configure(politeness=FAST_POLITENESS)
    configure(db=Path(tmp_path / "w.duckdb"))
    [source] = load_sources()
    warehouse = DuckDBWarehouse()
    warehouse.register_sources([source])
    published = datetime(2025, 10, 8, 7, 15, tzinfo=UTC)  # the edited story's English edition
    start = published + timedelta(hours=5)

    def run_on(day: int) -> dict[str, int]:
        seen = len(site.requests)

        async def run() -> None:
            async with HttpClient() as client:
                with PageProcessor(workers=0) as pages:
                    clock = lambda: start + timedelta(days=day)  # noqa: E731
                    params = IngestRun(RunKey(f"day-{day}"))
                    await ingest_source(source, params, warehouse, client, pages, clock)

        asyncio.run(run())
        return _article_requests(site, seen)

    edited = f"/caliber-az{EDITED}"
    older = "/caliber-az/en/post/baku-and-moscow-test-a-cautious-thaw-in-trade-talks"  # 3 Oct
    assert run_on(0) == dict.fromkeys(ARTICLES, 200)
    next_day = run_on(1)
    assert next_day[edited] == 304 and older not in next_day
    assert run_on(2)[edited] == 304
    assert edited not in run_on(3)


def test_a_page_whose_text_did_not_change_is_no_revision_whatever_else_changed(site, tmp_path):
    """A server without validators answers 200 every time: its view counter is no edit."""
    sources = load_sources(PROJECT_ROOT / "sources.yaml", base_url_override=site.base_url)
    source = next(s for s in sources if s.id == "caliber-az")
    url = site.url("caliber-az", EDITED)
    page = httpx.get(url).text
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    moment = datetime(2025, 10, 8, 12, 0, tzinfo=UTC)

    def fetched(body: str, run: str) -> str:
        attempt = FetchAttempt("caliber-az", url, Outcome.OK, moment, 200, "text/html", body)
        article = process_page(source, url, body, "text/html", moment).article
        chunk = [UrlResult(attempt, article)]
        warehouse.commit_chunk(RunKey(run), chunk, lambda _: source.revisit, moment)
        with store.connect(tmp_path / "w.duckdb", read_only=True) as conn:
            [(outcome,)] = conn.execute(
                "select outcome from fetch_log where run_id = ?", [run]
            ).fetchall()
            [(revisions,)] = conn.execute("select count(*) from article_revisions").fetchall()
        return f"{outcome}, {revisions} revisions"

    assert fetched(page, "r1") == "stored, 0 revisions"
    assert fetched(page, "r2") == "duplicate, 0 revisions"  # the same body
    counted = page.replace("Views: 2391", "Views: 2875")
    assert counted != page and fetched(counted, "r3") == "duplicate, 0 revisions"
    edited = counted.replace("four new ferries", "six new ferries")
    assert fetched(edited, "r4") == "revised, 2 revisions"


def test_if_modified_since_alone_tells_the_edited_page_apart(tmp_path):
    """The fixture server's Last-Modified moves forward with an edit, as a CMS's does."""
    with FixtureSite() as site:
        url = site.url("caliber-az", EDITED)
        modified = httpx.get(url).headers["last-modified"]
        assert httpx.get(url, headers={"If-Modified-Since": modified}).status_code == 304
        site.publish_updates()
        edited = httpx.get(url, headers={"If-Modified-Since": modified})
        assert edited.status_code == 200 and "six new ferries" in edited.text
        assert parsedate_to_datetime(edited.headers["last-modified"]) > parsedate_to_datetime(
            modified
        )
