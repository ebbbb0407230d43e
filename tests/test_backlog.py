"""Translation state in the warehouse: paragraphs, the cache, and the translate_backlog flow.

Articles are committed as the pipeline core commits a chunk (translate_articles with the
warehouse's cache, then commit_chunk, the page body in each attempt) into a fresh DuckDB file.
They are built directly rather than extracted, so that paragraph shapes (a blank one, one-line
Kazakh) are exactly what each test needs; Kazakh and Armenian are languages no other test
installs a model for.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argos_package import build_argos_package

from connectors.config import Revisit
from connectors.records import FetchAttempt, Outcome
from flows.cli import main
from processing.models import ModelInfo, install_model_file
from processing.records import Article, UrlResult
from processing.translate import translate_articles
from warehouse import store, translations
from warehouse.interface import DuckDBWarehouse, WarehouseCache
from warehouse.loads import RunKey

NOW = datetime(2025, 10, 1, tzinfo=UTC)
RU_TEXT = (
    "Власти заявили сегодня утром, что мост закрыт на ремонт.\n"
    "\n"
    "The ministry said in English that the bridge will reopen next month after repairs.\n"
    "Цены на рынке выросли. Суд начался!"
)


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configure) -> Path:
    path = tmp_path / "newsflow.duckdb"
    configure(db=Path(path))
    return path


def _article(url: str, language: str, title: str | None, text: str) -> Article:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Article("test-source", url, title, text, language, NOW, digest)


def _cache() -> WarehouseCache:
    """The translation cache of the warehouse the settings name."""
    return WarehouseCache(DuckDBWarehouse())


def _page(article: Article) -> str:
    """The page an article was read from: its title and a <p> per paragraph."""
    paragraphs = "".join(f"<p>{p}</p>" for p in article.text.split("\n") if p)
    title = article.title or ""
    return f"<html><head><title>{title}</title></head><body>{paragraphs}</body></html>"


def _ingest(articles: list[Article]) -> None:
    """What the pipeline does with a chunk of new articles: translate (cached), then commit."""
    translated = translate_articles([(a.language, a.title, a.text) for a in articles], _cache())
    results = [
        UrlResult(
            FetchAttempt(a.source_id, a.url, Outcome.OK, NOW, 200, "text/html", _page(a)),
            replace(a, translation=t),
        )
        for a, t in zip(articles, translated, strict=True)
    ]
    DuckDBWarehouse().commit_chunk(RunKey("test"), results, lambda _: Revisit(), NOW)


def _rows(sql: str, *params: object) -> list[tuple]:
    with store.connect() as conn:
        return conn.execute(sql, list(params)).fetchall()


def test_loaded_article_keeps_each_paragraph_beside_its_english(
    warehouse: Path, model_calls: list[list[str]]
) -> None:
    _ingest([_article("https://ru/1", "ru", "Новости города", RU_TEXT)])
    [(status, model, text_en)] = _rows(
        "SELECT translation_status, translation_model, text_en FROM articles"
    )
    assert (status, model) == ("done", "argos:ru-en@0.1")
    rows = _rows("SELECT position, text, text_en, language, model FROM paragraphs ORDER BY 1")
    source, english = RU_TEXT.split("\n"), text_en.split("\n")
    assert [r[0] for r in rows] == [0, 2, 3]  # the blank paragraph has no row
    for position, text, paragraph_en, _, _ in rows:
        assert (text, paragraph_en) == (source[position], english[position])
    # the English paragraph is kept word for word and never sent to the model
    assert rows[1][2:] == (source[2], "en", None)
    assert [r[3:] for r in (rows[0], rows[2])] == [("ru", "argos:ru-en@0.1")] * 2
    assert source[2] not in {text for call in model_calls for text in call}


def test_duplicated_story_and_reprocess_never_translate_a_text_twice(
    warehouse: Path, ru_model: ModelInfo, model_calls: list[list[str]]
) -> None:
    story = _article("https://ru/story", "ru", "Мост закрыт", "Мост закрыт.\nЦены выросли.")
    _ingest([story])
    assert sorted(model_calls[0]) == ["Мост закрыт", "Мост закрыт.", "Цены выросли."]
    # the same story reposted elsewhere, with one new paragraph
    repost = replace(story, url="https://other/repost", text=story.text + "\nСуд начался.")
    _ingest([repost])
    assert model_calls[1:] == [["Суд начался."]]
    # reprocessing both: everything is in the cache
    assert translate_articles([("ru", a.title, a.text) for a in (story, repost)], _cache()) == [
        translate_articles([("ru", a.title, a.text)], _cache())[0] for a in (story, repost)
    ]
    assert len(model_calls) == 2
    # the repost's shared paragraphs read exactly as the first story's
    [(repost_en,), (story_en,)] = _rows("SELECT text_en FROM articles ORDER BY url")
    assert repost_en.split("\n")[:2] == story_en.split("\n")
    # the key includes the model's version: another version of ru-en translates afresh
    with store.connect() as conn:
        assert translations.cached(conn, ru_model, ["Мост закрыт."]) != {}
        assert translations.cached(conn, replace(ru_model, version="0.2"), ["Мост закрыт."]) == {}


def test_backlog_translates_pending_articles_once_their_model_is_installed(
    warehouse: Path, ru_model: ModelInfo, tmp_path: Path, prefect_api: None, capsys
) -> None:
    kk_text = "Қала әкімдігі бүгін мәлімдеді.\nКөпір жабылды!"
    _ingest(
        [
            _article("https://kk/1", "kk", "Жаңалықтар", kk_text),
            _article("https://kk/2", "kk", None, "Нарықта бағалар өсті."),
            _article("https://hy/1", "hy", "Լուրեր", "Կամուրջը փակ է։"),
            _article("https://ru/1", "ru", "Новости", "Мост закрыт."),
        ]
    )
    before = dict(_rows("SELECT url, translation_status FROM articles"))
    assert before == {
        "https://kk/1": "pending_model",
        "https://kk/2": "pending_model",
        "https://hy/1": "pending_model",
        "https://ru/1": "done",
    }
    ru_english = _rows("SELECT text_en FROM articles WHERE url = 'https://ru/1'")

    install_model_file(build_argos_package(tmp_path, "kk"))
    assert main(["translate", "--batch-size", "1"]) == 0
    assert "'done': 2" in capsys.readouterr().out

    after = {
        url: rest
        for url, *rest in _rows(
            "SELECT url, translation_status, translation_model, title_en IS NOT NULL, "
            "text_en IS NOT NULL FROM articles"
        )
    }
    assert after["https://kk/1"] == ["done", "argos:kk-en@0.1", True, True]
    assert after["https://kk/2"] == ["done", "argos:kk-en@0.1", False, True]
    assert after["https://hy/1"] == ["pending_model", None, False, False]
    assert _rows("SELECT text_en FROM articles WHERE url = 'https://ru/1'") == ru_english
    assert _rows(
        "SELECT url, position FROM paragraphs WHERE url LIKE 'https://kk/%' ORDER BY 1, 2"
    ) == [
        ("https://kk/1", 0),
        ("https://kk/1", 1),
        ("https://kk/2", 0),
    ]
    # nothing left to do: a second run changes nothing
    assert main(["translate"]) == 0
    assert "none pending" in capsys.readouterr().out
    # each run is in the runs table with what it translated (its summary shows the same)
    assert _rows(
        "SELECT flow, translated, fetched FROM runs WHERE flow = 'translate_backlog' "
        "ORDER BY started_at"
    ) == [("translate_backlog", 2, 0), ("translate_backlog", 0, 0)]


def _waiting_mongolian() -> None:
    """Two Mongolian articles stored while no mn model is installed (no other test installs
    one or expects it absent), and one Armenian that stays pending."""
    _ingest(
        [
            _article("https://mn/1", "mn", "Мэдээ", "Гүүрийг өнөөдөр засварын улмаас хаалаа."),
            _article("https://mn/2", "mn", None, "Зах зээлийн үнэ өслөө."),
            _article("https://hy/2", "hy", "Լուրեր", "Կամուրջը փակ է։"),
        ]
    )
    assert _rows("SELECT count(*) FROM articles WHERE translation_status = 'pending_model'") == [
        (3,)
    ]


def test_installing_a_model_translates_the_articles_that_waited_for_it(
    warehouse: Path, tmp_path: Path
) -> None:
    """`newsflow models install --file` as a user types it, with no Prefect server: the
    articles that waited for the language are translated at once, recorded as a backlog run."""
    _waiting_mongolian()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env |= {
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "NEWSFLOW_DB": str(warehouse),
    }
    package = build_argos_package(tmp_path, "mn")
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "models", "install", "--file", str(package)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("installed mn-en 0.1 at ")
    assert lines[1:3] == [
        "2 articles in mn waited for a model: translating them",
        "translating in this process (no Prefect server) …",
    ]
    assert lines[-1] == "articles by translation status: {'done': 2}"
    assert not list((tmp_path / "prefect").glob("*.db"))  # no Prefect server was started
    assert dict(_rows("SELECT url, translation_model FROM articles")) == {
        "https://mn/1": "argos:mn-en@0.1",
        "https://mn/2": "argos:mn-en@0.1",
        "https://hy/2": None,
    }
    assert _rows("SELECT flow, translated FROM runs") == [("translate_backlog", 2)]


def test_installing_a_model_with_a_server_starts_the_deployments_backlog_run(
    warehouse: Path, tmp_path: Path, prefect_api: None, capsys
) -> None:
    """With a Prefect server that has the translate_backlog deployment, installing starts a run
    of it (its worker translates) instead of translating in the command."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    from flows.model_commands import BACKLOG_DEPLOYMENT

    _ingest([_article("https://si/1", "si", "පුවත්", "පාලම අද වසා ඇත.")])
    flow_name, name = BACKLOG_DEPLOYMENT.split("/")
    with get_client(sync_client=True) as client:
        deployment = client.create_deployment(client.create_flow_from_name(flow_name), name)
    try:
        package = build_argos_package(tmp_path, "si")
        assert main(["models", "install", "--file", str(package)]) == 0
        with get_client(sync_client=True) as client:
            [run] = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment]))
            )
    finally:  # the session's other tests share this server: they expect no such deployment
        with get_client(sync_client=True) as client:
            client.delete_deployment(deployment)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "1 articles in si waited for a model: translating them"
    assert lines[2] == f"started {BACKLOG_DEPLOYMENT} run {run.name}: its worker translates them"
    assert run.parameters == {"retranslate": []}
    assert _rows("SELECT translation_status FROM articles") == [("pending_model",)]
