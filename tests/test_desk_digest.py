"""The daily digest, the side-by-side reader and the saved questions, on an ingested warehouse.

The fixture sites are ingested by a daily run as `newsflow ingest` does it (with the tiny ru→en
test model installed, so Russian articles have a machine translation): the run writes the day's
digest and publishes its summary. The page is opened in Debian's headless Chromium, as the UI
check does, and compared with what SQL says; a screenshot goes to test-output/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import FAST_POLITENESS
from lxml import html
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from core.settings import Settings, current, use
from desk.digest import reader_name, write_digest
from fixture_site import FixtureSite
from flows.cli import main
from warehouse import store

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "test-output"
QUERIES = sorted((ROOT / "queries").glob("*.sql"))


def _rows(query: str, params: dict | None = None) -> list[tuple]:
    with store.connect(read_only=True) as conn:
        return conn.execute(query, params or {}).fetchall()


@pytest.fixture(scope="module")
def ingested(prefect_api, ru_model, tmp_path_factory):
    """A daily `newsflow ingest` of the fixture sites into a warehouse of its own."""
    db = tmp_path_factory.mktemp("desk") / "newsflow.duckdb"
    with use(Settings(db=db, politeness=FAST_POLITENESS)):
        with FixtureSite() as site, use(replace(current(), base_url=site.base_url)):
            assert main(["ingest", "--failure-threshold", "1"]) == 0
        yield db


@pytest.fixture(scope="module")
def today() -> str:
    return datetime.now(UTC).date().isoformat()


@pytest.fixture(scope="module")
def page(ingested: Path, today: str) -> Path:
    return ingested.parent / "digest" / f"{today}.html"


@pytest.fixture(scope="module")
def rendered(page: Path) -> html.HtmlElement:
    """The digest as headless Chromium renders it; its screenshot at 1400x1000 is kept."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: `make test` installs it"
    OUTPUT.mkdir(exist_ok=True)
    screenshot = OUTPUT / "digest.png"
    screenshot.unlink(missing_ok=True)
    flags = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={OUTPUT / 'chromium-profile'}",
        "--window-size=1400,1000",
    ]
    url = page.as_uri()
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    subprocess.run([*flags, f"--screenshot={screenshot}", url], capture_output=True, timeout=120)
    assert screenshot.exists() and screenshot.stat().st_size > 10_000
    return html.fromstring(dom.stdout)


def test_the_daily_run_writes_the_digest_and_publishes_its_summary(ingested, page, today):
    assert page.exists()
    [(run_id,)] = _rows("select run_id from runs")
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    [digest] = [a for a in artifacts if a.key == "daily-digest"]
    stories = _story_count(today)
    assert digest.data.startswith(f"# Digest {today}")
    assert f"{stories} stories arrived" in digest.data and str(page) in digest.data


def _story_count(day: str) -> int:
    [(count,)] = _rows(
        "select count(distinct coalesce(cluster_id::varchar, url)) from articles_en "
        "where cast(timezone('UTC', fetched_at) as date) = $day",
        {"day": day},
    )
    return count


def test_the_page_renders_every_story_of_the_day(rendered, today):
    stories = rendered.find_class("story")
    assert len(stories) == _story_count(today) > 0
    assert rendered.get_element_by_id("stories").text_content() == f"Stories ({len(stories)})"


def test_titles_say_whether_english_is_the_publishers_or_a_machines(rendered, ru_model):
    cards = {s.find("h3").text_content(): s.text_content() for s in rendered.find_class("story")}
    english = _rows("select title from articles where language = 'en' and duplicate_of is null")
    assert english and all(title in cards for (title,) in english)
    assert all("machine translation" not in cards[title] for (title,) in english)
    translated = _rows(
        "select title_en, translation_model from articles "
        "where translation_status = 'done' and duplicate_of is null"
    )
    assert translated
    for title_en, model in translated:
        if title_en in cards:  # a story told in English too takes the publisher's title
            assert f"machine translation · {model}" in cards[title_en]


def test_each_story_names_its_sources_languages_first_seen_and_links(rendered):
    links = {a.get("href") for a in rendered.iter("a")}
    for url, language, fetched in _rows(
        "select url, language, fetched_at from articles_en order by url"
    ):
        assert url in links
        row = next(
            tr for tr in rendered.iter("tr") if any(a.get("href") == url for a in tr.iter("a"))
        )
        assert language in row.text_content()
        assert f"{fetched.astimezone(UTC):%Y-%m-%d %H:%M} UTC" in row.text_content()


def test_the_charts_are_drawn(rendered):
    charts = [svg for svg in rendered.iter("{*}svg", "svg") if "chart" in svg.get("class", "")]
    [(sources,)] = _rows("select count(*) from sources")
    assert len(charts) == 1 + sources  # per source and language, then one per source's volume
    for chart in charts:
        heights = [float(r.get("height")) for r in chart.iter("{*}rect", "rect")]
        assert heights and max(heights) > 0


def test_pending_translations_and_failures_are_listed(rendered, today):
    pending = rendered.get_element_by_id("pending").getnext().text_content()
    for language, count in _rows(
        "select language, count(*) from articles where translation_status = 'pending_model' "
        "group by 1"
    ):
        assert f"{language}{count}" in pending.replace(" ", "")
    failures = rendered.get_element_by_id("failures").getnext().text_content()
    failed = _rows(
        "select source_id, count(distinct url) from fetch_log where outcome in "
        "('http_error', 'timeout', 'empty', 'not_html', 'too_large', 'redirect_loop') "
        "group by 1"
    )
    assert failed
    for source_id, count in failed:
        assert f"{source_id}{count}" in failures.replace(" ", "")


def test_the_page_loads_nothing_from_anywhere(page):
    text = page.read_text(encoding="utf-8")
    assert "default-src 'none'" in text
    assert not any(marker in text for marker in (" src=", "<link", "@import", "url("))


def test_the_reader_shows_original_and_english_paragraph_by_paragraph(ingested, rendered, capsys):
    [(url, model)] = _rows(
        "select url, translation_model from articles where translation_status = 'done' "
        "order by url limit 1"
    )
    paragraphs = _rows(
        "select text, text_en from paragraphs where url = $url order by position", {"url": url}
    )
    assert paragraphs
    assert main(["show", url, "--out", str(ingested.parent / "reader")]) == 0
    shown = capsys.readouterr().out
    assert f"English by machine translation: {model}" in shown
    flat = " ".join(shown.replace("│", " ").split())
    for text, text_en in paragraphs:
        assert " ".join(text.split()[:3]) in flat and " ".join(text_en.split()[:3]) in flat
    # the digest links each article to the same page, next to it
    [href] = [
        a.get("href")
        for tr in rendered.iter("tr")
        if any(a.get("href") == url for a in tr.iter("a"))
        for a in tr.iter("a")
        if a.text_content() == "side by side"
    ]
    reader = html.fromstring((ingested.parent / "digest" / href).read_text(encoding="utf-8"))
    cells = [[td.text_content() for td in tr.iter("td")] for tr in reader.iter("tr")][1:]
    assert len(cells) == len(paragraphs)
    for (original, english), (text, text_en) in zip(cells, paragraphs, strict=True):
        assert text in original and text_en in english
    assert model in reader.text_content()


def test_newsflow_digest_writes_any_day_where_asked(ingested, tmp_path, capsys):
    assert main(["digest", "--day", "2025-10-03", "--out", str(tmp_path)]) == 0
    assert "0 stories" in capsys.readouterr().out
    assert "Stories (0)" in (tmp_path / "2025-10-03.html").read_text(encoding="utf-8")


def test_a_daily_run_that_changes_nothing_leaves_the_pages_as_they_were(ingested, tmp_path):
    """A no-op daily run must stay cheap: rewriting every reader page was most of its time."""
    first = write_digest(out_dir=tmp_path, only_if_changed=True)
    assert first.changed and len(first.written) == len(first.readers) > 1
    again = write_digest(out_dir=tmp_path, only_if_changed=True)
    assert not again.changed and again.written == [] and again.readers == first.readers
    # a translation that arrives later changes one reader page: that one is written again
    url = first.digest.stories[0].members[0].url
    with store.connect() as conn:
        conn.execute("update articles set title_en = 'A later translation' where url = ?", [url])
    later = write_digest(out_dir=tmp_path, only_if_changed=True)
    assert later.changed and later.written == [tmp_path / reader_name(url)]
    assert "A later translation" in later.written[0].read_text(encoding="utf-8")
    # a lost page is written again, even when its article did not change
    first.readers[-1].unlink()
    with store.connect() as conn:
        conn.execute("update articles set title_en = 'Once more' where url = ?", [url])
    assert set(write_digest(out_dir=tmp_path, only_if_changed=True).written) == {
        tmp_path / reader_name(url),
        first.readers[-1],
    }


# --- saved questions ---------------------------------------------------------------------------


@pytest.fixture
def saved(capsys):
    """Run a saved query with `newsflow sql --file ... --format json`; its rows."""

    def run(name: str, *params: str) -> list[dict]:
        args = ["sql", "--file", str(ROOT / "queries" / f"{name}.sql"), "--format", "json"]
        for param in params:
            args += ["--param", param]
        assert main(args) == 0
        return json.loads(capsys.readouterr().out)

    return run


def test_there_are_six_saved_questions_each_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(QUERIES) == 6
    for query in QUERIES:
        assert f"queries/{query.name}" in readme
        assert query.read_text(encoding="utf-8").startswith("-- ")


def test_what_arrived_today(ingested, saved, today):
    rows = saved("today")
    [(count,)] = _rows(
        "select count(*) from articles_en where cast(timezone('UTC', fetched_at) as date) = $d",
        {"d": today},
    )
    assert len(rows) == count > 0
    assert saved("today", "day=2025-10-03") == []


def test_what_a_source_said_about_a_name(ingested, saved):
    rows = saved("source_about_name", "source=caliber-az", "name=Baku", "days=100000")
    assert rows and all("baku" in (r["title"] + r["context"]).lower() for r in rows)
    assert main(["sql", "--file", str(ROOT / "queries" / "source_about_name.sql")]) == 1
    assert main(["sql", "--file", str(QUERIES[0]), "--param", "nope=1"]) == 1


def test_pending_translations_and_failing_sources(ingested, saved):
    pending = {r["language"]: r["articles"] for r in saved("pending_translations")}
    waiting = "select language, count(*) from articles where translation_status = 'pending_model'"
    assert pending == dict(_rows(f"{waiting} group by 1"))
    failing = saved("failing_sources")
    assert failing[0]["source_id"] == "caucasian-knot" and failing[0]["failed"] > 0
