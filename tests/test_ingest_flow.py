"""The ingest flow end to end: a real Prefect API, the fixture site over HTTP, a DuckDB file."""

import duckdb
import pytest

from fixture_site import manifest
from warehouse import store

BOILERPLATE = (
    "ДАННОЕ СООБЩЕНИЕ",  # foreign-agent disclaimer
    "THIS MESSAGE (MATERIAL)",  # the same, in the English edition
    "originally published on the Russian page",
    "Скачайте приложение",
    "Знаете больше",
    "下载头条APP",
    "原文：",
    "声明：",
    "Просмотров:",
    "Stay Ahead",
)


@pytest.fixture(scope="module")
def runs(prefect_api, pointed_at_site, ru_model):
    """Two ingests in a row, with the fixture site's request log of the second one."""
    from flows.ingest import ingest

    site = pointed_at_site
    ingest(failure_threshold=1.0)  # the site's bad pages fail on purpose
    seen = len(site.requests)
    ingest(failure_threshold=1.0)
    first, second = (store_outcomes(run_id) for run_id in _run_ids())
    return {"first": first, "second": second, "second_requests": site.requests[seen:]}


def _run_ids() -> list[str]:
    return [
        r[0] for r in _rows("select run_id from fetch_log group by 1 order by min(attempted_at)")
    ]


def store_outcomes(run_id: str) -> dict[str, dict[str, int]]:
    with store.connect(read_only=True) as conn:
        return store.run_outcomes(conn, run_id)


def _rows(query: str) -> list[tuple]:
    with store.connect(read_only=True) as conn:
        return conn.execute(query).fetchall()


def _expected(site) -> dict[str, dict]:
    return {site.source_base(e["source_id"]) + e["path"]: e for e in manifest()}


def test_every_fixture_article_is_loaded_once_with_title_and_language(runs, pointed_at_site):
    expected = _expected(pointed_at_site)
    rows = {
        url: (source, title, lang)
        for url, source, title, lang in _rows(
            "select url, source_id, title, language from articles"
        )
    }
    assert set(rows) == set(expected)
    for url, entry in expected.items():
        assert rows[url] == (entry["source_id"], entry["title"], entry["language"]), url
    assert {lang for _, _, lang in rows.values()} >= {"ru", "zh", "en", "az"}


def test_publication_dates_come_from_the_pages(runs, pointed_at_site):
    expected = _expected(pointed_at_site)
    for url, published in _rows("select url, published_at from articles"):
        assert (
            published is not None and published.date().isoformat() == expected[url]["published"]
        ), url


def test_boilerplate_stays_out_of_the_text(runs):
    for url, text in _rows("select url, text from articles"):
        for phrase in BOILERPLATE:
            assert phrase not in text, (url, phrase)


def test_a_javascript_shell_page_is_stored_as_the_article_its_json_holds(runs, pointed_at_site):
    url = pointed_at_site.url("toutiao", "/article/7559300187321107466/")
    [(title, text)] = _rows(f"select title, text from articles where url = '{url}'")
    assert title == "阿塞拜疆学者：里海地区合作需要更多务实项目"  # the HTML's <title> is the site's
    paragraphs = text.split("\n")
    assert len(paragraphs) == 4 and paragraphs[0].startswith("阿塞拜疆一位国际关系学者")


def test_bad_pages_are_recorded_with_their_reason_and_lose_nothing_else(runs, pointed_at_site):
    log = {
        url: (outcome, status, error)
        for url, outcome, status, error in _rows(
            "select url, outcome, http_status, error from fetch_log where run_id = "
            "(select run_id from fetch_log order by attempted_at limit 1)"
        )
    }
    base = pointed_at_site.source_base("caucasian-knot")
    assert log[base + "/articles/900001/"][0] == "empty"
    assert log[base + "/articles/900002/"][:2] == ("not_html", 200)
    assert log[base + "/articles/900003/"][:2] == ("http_error", 500)
    assert log[base + "/articles/900004/"][0] == "timeout"
    assert log[base + "/articles/900005/"][0] == "redirect_loop"
    assert log[base + "/articles/900006/"][:2] == ("too_large", 200)
    assert all(error for outcome, _, error in log.values() if outcome not in ("stored", "listed"))
    assert runs["first"]["caucasian-knot"]["stored"] == sum(
        1 for e in manifest() if e["source_id"] == "caucasian-knot"
    )


def test_a_second_run_adds_nothing_and_refetches_no_stored_article(runs, pointed_at_site):
    assert _rows("select count(*), count(distinct url) from articles")[0] == (len(manifest()),) * 2
    assert all("stored" not in counts for counts in runs["second"].values())
    article_paths = {f"/{e['source_id']}{e['path']}" for e in manifest()}
    refetched = [r.path for r in runs["second_requests"] if r.path in article_paths]
    assert refetched == []


def test_translation_status_and_provenance(runs, ru_model):
    rows = _rows(
        "select language, text, text_en, title_en, translation_status, translation_model "
        "from articles"
    )
    for language, text, text_en, title_en, status, model in rows:
        if language == "en":
            assert (status, text_en, model) == ("not_needed", text, None)
        elif language == "ru":
            assert (status, model) == ("done", ru_model.model_id)
            assert title_en and len(text_en.split("\n")) == len(text.split("\n"))
        else:
            assert (status, text_en, model) == ("pending_model", None, None)


def test_analysts_can_query_the_file_while_no_flow_runs(runs):
    with duckdb.connect(str(store.db_path()), read_only=True) as conn:
        counts = dict(conn.execute("select language, count(*) from articles group by 1").fetchall())
    assert len(counts) >= 3
