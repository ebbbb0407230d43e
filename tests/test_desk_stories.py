"""What the digest says about a day, on a warehouse whose stories are known in advance.

One story told in English, Russian and Chinese; one in Russian and Chinese (the Chinese first,
a day earlier); one Chinese story still waiting for a model; an exact repost; an older story;
and a source that published four articles a day for two weeks and nothing today.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import html

from desk.digest import write_digest
from flows.cli import main
from warehouse import store
from warehouse.digest import TitleKind, stories

TODAY = datetime.now(UTC).replace(hour=9, minute=30, second=0, microsecond=0)
YESTERDAY = TODAY - timedelta(days=1)
MODEL = "argos:ru-en@1.9"

# url, source, language, title, title_en, status, model, fetched, cluster, duplicate of
ARTICLES = [
    ("https://en.example/floods", "knot-en", "en", "Floods in Dagestan", None, "not_needed",
     None, TODAY, 1, None),
    ("https://ru.example/floods", "knot", "ru", "Наводнение в Дагестане", "Flood in Dagestan",
     "done", MODEL, TODAY + timedelta(minutes=5), 1, None),
    ("https://zh.example/floods", "toutiao", "zh", "达吉斯坦洪水", None, "pending_model", None,
     TODAY + timedelta(minutes=9), 1, None),
    ("https://zh.example/talks", "toutiao", "zh", "巴库会谈", None, "pending_model", None,
     YESTERDAY, 2, None),
    ("https://ru.example/talks", "knot", "ru", "Переговоры в Баку", "Talks in Baku", "done",
     MODEL, TODAY, 2, None),
    ("https://zh.example/port", "toutiao", "zh", "港口扩建", None, "pending_model", None, TODAY,
     3, None),
    ("https://zh.example/port-copy", "toutiao", "zh", "港口扩建", None, "pending_model", None,
     TODAY, 3, "https://zh.example/port"),
    ("https://ru.example/old", "knot", "ru", "Старое", "Old", "done", MODEL, YESTERDAY, 4, None),
]  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stories") / "w.duckdb"
    with store.connect(path) as conn:
        for source, language in [("knot-en", "en"), ("knot", "ru"), ("toutiao", "zh"),
                                 ("quiet", "az")]:  # fmt: skip
            conn.execute(
                "INSERT INTO sources VALUES ($id, $id, 'feed', 'https://x.example', $lang, now())",
                {"id": source, "lang": language},
            )
        for url, source, lang, title, title_en, status, model, fetched, cluster, dup in ARTICLES:
            conn.execute(
                "INSERT INTO articles (url, source_id, title, text, language, fetched_at, "
                "content_hash, title_en, text_en, translation_status, translation_model, "
                "duplicate_of) VALUES ($url, $source, $title, $title || '\n' || $title, $lang, "
                "$fetched, $url, $title_en, $title_en || '\n' || $title_en, $status, $model, $dup)",
                dict(url=url, source=source, title=title, lang=lang, fetched=fetched,
                     title_en=title_en, status=status, model=model, dup=dup),
            )  # fmt: skip
            conn.execute(
                "INSERT INTO story_clusters VALUES ($url, $cluster, 1.0, [], now(), 1)",
                {"url": url, "cluster": cluster},
            )
        # the quiet source: four articles a day for the two weeks before today, none today
        conn.execute(
            "INSERT INTO articles (url, source_id, text, language, fetched_at, content_hash, "
            "translation_status) SELECT 'https://quiet.example/' || i, 'quiet', 'x', 'az', "
            "$today - to_days(1 + i // 4), 'q' || i, 'pending_model' FROM range(56) t(i)",
            {"today": TODAY},
        )
        conn.execute(
            "INSERT INTO fetch_log (run_id, source_id, url, outcome, attempted_at) VALUES "
            "('r', 'knot', 'https://ru.example/gone', 'http_error', $today), "
            "('r', 'knot', 'https://ru.example/slow', 'timeout', $today), "
            "('r', 'knot', 'https://ru.example/floods', 'stored', $today)",
            {"today": TODAY},
        )
    return path


def test_stories_with_most_sources_and_languages_come_first(warehouse):
    with store.connect(warehouse, read_only=True) as conn:
        day = stories(conn, TODAY.date())
    assert [s.cluster_id for s in day] == [1, 2, 3]  # not 4: nothing of it arrived today
    assert [(s.sources, s.languages) for s in day[:2]] == [
        (["knot-en", "knot", "toutiao"], ["en", "ru", "zh"]),
        (["toutiao", "knot"], ["zh", "ru"]),  # first seen first: the Chinese, a day earlier
    ]
    assert [m.url for m in day[2].members] == ["https://zh.example/port"]  # the repost is not


def test_the_english_title_is_the_publishers_else_the_machines_else_the_original(warehouse):
    with store.connect(warehouse, read_only=True) as conn:
        day = stories(conn, TODAY.date())
    assert [(s.title, s.title_kind, s.title_model) for s in day] == [
        ("Floods in Dagestan", TitleKind.PUBLISHER, None),
        ("Talks in Baku", TitleKind.MACHINE, MODEL),
        ("港口扩建", TitleKind.ORIGINAL, None),
    ]


def test_the_page_orders_marks_and_flags_as_the_warehouse_says(
    warehouse, tmp_path, monkeypatch, configure
):
    configure(db=Path(warehouse))
    files = write_digest(TODAY.date(), tmp_path)
    page = html.fromstring(files.page.read_text(encoding="utf-8"))
    cards = page.find_class("story")
    assert [c.find("h3").text_content() for c in cards] == [
        "Floods in Dagestan",
        "Talks in Baku",
        "港口扩建",
    ]
    assert "3 sources · 3 languages" in cards[0].text_content()
    assert f"machine translation · {MODEL}" in cards[1].text_content()
    assert "not translated yet" in cards[2].text_content()
    assert f"{YESTERDAY:%Y-%m-%d %H:%M} UTC" in cards[1].text_content()
    volume = page.get_element_by_id("volume").getnext().getnext().text_content()
    assert "quiet: 0 today, median 4" in volume
    assert volume.count("below a quarter of its median") == 1  # the quiet source only
    failures = page.get_element_by_id("failures").getnext().text_content()
    assert "knot2" in failures.replace(" ", "")  # http_error and timeout; stored is no failure
    pending = page.get_element_by_id("pending").getnext().text_content().replace(" ", "")
    assert "az56" in pending and "zh4" in pending  # the repost waits too
    assert len(files.readers) == 6  # one side-by-side page per article on the page


def _saved(name: str, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    queries = Path(__file__).resolve().parents[1] / "queries"
    assert main(["sql", "--file", str(queries / f"{name}.sql"), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_saved_stories_across_languages(warehouse, monkeypatch, capsys, configure):
    configure(db=Path(warehouse))
    rows = _saved("stories_across_languages", capsys)
    assert [(r["cluster_id"], r["languages"], r["title"]) for r in rows] == [
        (1, 3, "Floods in Dagestan"),
        (2, 2, "Talks in Baku"),
    ]


def test_saved_reposts_name_what_each_one_repeats(warehouse, monkeypatch, capsys, configure):
    configure(db=Path(warehouse))
    rows = {(r["url"], r["kind"], r["original_url"]) for r in _saved("reposts", capsys)}
    assert rows == {
        ("https://zh.example/port-copy", "exact copy", "https://zh.example/port"),
        ("https://ru.example/floods", "same story", "https://en.example/floods"),
        ("https://zh.example/floods", "same story", "https://en.example/floods"),
        ("https://ru.example/talks", "same story", "https://zh.example/talks"),
    }


def test_the_reader_names_the_model_and_the_attribution(
    warehouse, monkeypatch, capsys, tmp_path, configure
):
    configure(db=Path(warehouse))
    with store.connect(warehouse) as conn:
        conn.execute(
            "UPDATE articles SET attribution = 'Источник: Кавказский узел', "
            "attribution_url = 'https://www.kavkaz-uzel.eu/articles/1/' "
            "WHERE url = 'https://ru.example/talks'"
        )
    assert main(["show", "https://ru.example/talks", "--out", str(tmp_path)]) == 0
    shown = capsys.readouterr().out
    assert f"English by machine translation: {MODEL}" in shown
    assert "attribution: Источник: Кавказский узел" in shown
    assert "attribution url: https://www.kavkaz-uzel.eu/articles/1/" in shown
    assert re.search(r"^Переговоры в Баку +│ Talks in Baku$", shown, re.MULTILINE)  # abreast
    page = next((tmp_path / "articles").glob("*.html")).read_text(encoding="utf-8")
    assert "Источник: Кавказский узел" in page and MODEL in page
