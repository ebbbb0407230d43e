"""Offline translation: installing Argos packages and translating articles in batches.

The tiny test model has random weights, so its English is gibberish: these tests check
structure and provenance, never words.
"""

from __future__ import annotations

import os
import socket
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from argos_package import build_argos_package, build_corrupt_package

from processing import translate
from processing.models import ModelInfo, ModelInstallError, install_model_file, installed_models
from processing.records import Translation
from processing.translate import translate_articles

RU_TITLE = "Новости города"
RU_TEXT = "Власти заявили сегодня утром. Мост закрыт!\nЦены на рынке выросли.\n\nСуд начался?"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args[1:]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_installed_package_is_listed_with_name_version_and_path(ru_model: ModelInfo) -> None:
    listed = installed_models()["ru"]
    assert listed == ru_model
    assert (listed.name, listed.version, listed.to_code) == ("ru-en", "0.1", "en")
    assert listed.path == Path(os.environ["ARGOS_PACKAGES_DIR"]) / "translate-ru_en-0_1"
    assert (listed.path / "metadata.json").is_file()
    assert listed.model_id == "argos:ru-en@0.1"


def test_russian_article_is_translated_paragraph_by_paragraph(
    ru_model: ModelInfo, no_network: None
) -> None:
    [result] = translate_articles([("ru", RU_TITLE, RU_TEXT)])
    assert result.status == "done", result.error
    assert result.model == ru_model.model_id
    assert result.title_en and result.text_en
    source, english = RU_TEXT.split("\n"), result.text_en.split("\n")
    assert len(english) == len(source)
    assert [bool(p.strip()) for p in english] == [bool(p.strip()) for p in source]


def test_english_article_is_left_alone_without_consulting_any_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def forbidden(*args: object) -> None:
        raise AssertionError("model consulted for English")

    monkeypatch.setattr(translate, "available_models", forbidden)
    monkeypatch.setattr(translate, "_translator", forbidden)
    text = "First paragraph.\n\nSecond one."
    assert translate_articles([("en", "Title", text)]) == [
        Translation("not_needed", "Title", text, None)
    ]


def test_language_without_model_is_pending(ru_model: ModelInfo) -> None:
    assert translate_articles([("zh", "新闻", "今天早上。")]) == [Translation("pending_model")]


def test_undetermined_language_fails_with_a_reason() -> None:
    [result] = translate_articles([("und", None, "12:45 — 2025")])
    assert (result.status, result.error) == ("failed", "language could not be determined")


@pytest.mark.parametrize("kind", ["no metadata", "random bytes", "flat zip"])
def test_corrupt_model_file_raises_naming_the_file(
    kind: str, tmp_path: Path, ru_model: ModelInfo
) -> None:
    if kind == "no metadata":
        path = build_corrupt_package(tmp_path)
    elif kind == "random bytes":
        path = tmp_path / "garbage.argosmodel"
        path.write_bytes(os.urandom(512))
    else:
        path = tmp_path / "flat.argosmodel"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("metadata.json", '{"from_code": "xx", "to_code": "en"}')
            zf.writestr("model/model.bin", b"")
    packages_dir = ru_model.path.parent
    before = sorted(packages_dir.iterdir())
    with pytest.raises(ModelInstallError, match=path.name):
        install_model_file(path)
    assert sorted(packages_dir.iterdir()) == before  # nothing half-installed
    assert "ru" in installed_models()


def test_batch_keeps_input_order_and_calls_the_model_once_per_language(
    model_calls: list[list[str]],
) -> None:
    items = [
        ("ru", "Первый", "Мост закрыт.\nЦены выросли."),
        ("en", "Second", "Plain English."),
        ("zh", None, "今天早上。"),
        ("ru-RU", None, "Суд начался.\nМост закрыт."),
        ("ru", "Пятый", "Школа открыта."),
    ]
    results = translate_articles(items)
    assert [r.status for r in results] == ["done", "not_needed", "pending_model", "done", "done"]
    assert results[1].text_en == "Plain English."
    assert results[3].title_en is None
    assert [len(r.text_en.split("\n")) for r in (results[0], results[3], results[4])] == [2, 2, 1]
    # one call carrying every title and paragraph of the Russian articles, repeats sent once
    assert len(model_calls) == 1
    assert sorted(model_calls[0]) == sorted(
        {"Первый", "Мост закрыт.", "Цены выросли.", "Суд начался.", "Пятый", "Школа открыта."}
    )


def test_failure_in_one_article_fails_only_that_article(
    ru_model: ModelInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    translator = translate._translator(ru_model)
    original = translator.translate

    def flaky(texts: list[str]) -> list[str]:
        if any("ОТРАВА" in t for t in texts):
            raise RuntimeError("model exploded")
        return original(texts)

    monkeypatch.setattr(translator, "translate", flaky)
    results = translate_articles(
        [("ru", "Хорошо", "Мост закрыт."), ("ru", "Плохо", "ОТРАВА."), ("ru", None, "Суд.")]
    )
    assert [r.status for r in results] == ["done", "failed", "done"]
    assert results[1].error == "RuntimeError: model exploded"
    assert results[1].model == ru_model.model_id
    assert results[1].title_en is None and results[1].text_en is None


def test_translation_downloads_nothing(
    ru_model: ModelInfo, no_network: None, argos_home: Path
) -> None:
    translate._translators.clear()  # load the package afresh under the network guard
    [result] = translate_articles([("ru", RU_TITLE, RU_TEXT)])
    assert result.status == "done", result.error
    for leftover in ("data/minisbd", "stanza_resources", "data/spacy"):
        assert not (argos_home / leftover).exists(), leftover
    downloads = argos_home / "cache/argos-translate/downloads"
    assert not any(downloads.iterdir())


def test_package_without_bundled_splitter_fails_instead_of_downloading(
    ru_model: ModelInfo, tmp_path: Path, no_network: None
) -> None:
    install_model_file(build_argos_package(tmp_path, "uk", splitter=None))
    [uk, ru] = translate_articles([("uk", "Новини", "Міст закрито."), ("ru", None, "Суд.")])
    assert uk.status == "failed"
    assert "sentence splitter" in (uk.error or "")
    assert ru.status == "done"


def test_bundled_stanza_splitter_is_loaded_without_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    import stanza

    pipelines: list[dict[str, object]] = []

    def fake_pipeline(**kwargs: object):
        pipelines.append(kwargs)
        return lambda text: SimpleNamespace(sentences=[SimpleNamespace(text=text)])

    monkeypatch.setattr(stanza, "Pipeline", fake_pipeline)
    install_model_file(build_argos_package(tmp_path, "be", splitter="stanza"))
    [result] = translate_articles([("be", "Навіны", "Мост зачынены.")])
    assert result.status == "done", result.error
    assert pipelines and pipelines[0]["download_method"] is None
