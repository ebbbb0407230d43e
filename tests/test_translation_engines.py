"""CTranslate2 engines beside Argos: NLLB-200 and Marian/OPUS-MT model folders of their real
shape (tiny, random: tests/ct2_package.py), installed with `newsflow models install --dir`,
routed per language from sources.yaml, and re-translation when a better model arrives.

The models' English is gibberish that does not depend on the input: tests check provenance,
routing and what follows a translation, never words. Nothing downloads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from argos_package import build_argos_package
from ct2_package import build_marian_folder, build_nllb_folder
from test_backlog import _article, _ingest, _rows, warehouse  # noqa: F401 (a fixture)

from connectors.config import PROJECT_ROOT
from flows.cli import main
from flows.translate import translate_backlog
from processing import ct2_models, translate
from processing.models import ModelInfo, available_models, install_model_file
from processing.similarity import minhash
from processing.translate import split_sentences, translate_articles
from warehouse import search, store

AZ_TEXT = "Bu gün səhər yol bağlandı. Məktəb açıldı!\nBazar qiymətləri artdı."
RU_TEXT = "Власти заявили сегодня утром. Мост закрыт!\nЦены на рынке выросли."


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own CTranslate2 model store (other tests must not see its models)."""
    root = tmp_path / "ct2-models"
    monkeypatch.setattr(ct2_models, "default_models_dir", lambda: root)
    return root


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Converted folders as a user copies them over: NLLB-style and Marian-style (az→en)."""
    root = tmp_path_factory.mktemp("converted")
    return {
        "nllb": build_nllb_folder(root / "nllb-200-test-ct2"),
        "marian": build_marian_folder(root / "opus-mt-az-en"),
    }


def choose(tmp_path: Path, configure: Callable[..., object], **chosen: str) -> None:
    """Settings naming the project's sources.yaml with this `defaults: translation:`."""
    lines = "".join(f"    {language}: {name}\n" for language, name in chosen.items())
    text = (PROJECT_ROOT / "sources.yaml").read_text(encoding="utf-8")
    path = tmp_path / "sources.yaml"
    path.write_text(text.replace("defaults:\n", f"defaults:\n  translation:\n{lines}", 1))
    configure(sources_file=path)


def test_folders_install_checked_and_listed_with_engine_size_and_languages(
    folders: dict[str, Path], models_dir: Path, ru_model: ModelInfo, capsys
) -> None:
    assert main(["models", "install", "--dir", str(folders["nllb"]), "--name", "nllb-test"]) == 0
    out = capsys.readouterr().out
    assert "installed nllb-test (ctranslate2/nllb, version " in out
    assert "serves az, kk, ru, zh" in out
    # Argos keeps Russian (the default); the new model's languages without Argos use it
    assert "ru: argos:ru-en@0.1 stays in use; to use nllb-test, set" in out
    assert main(["models", "install", "--dir", str(folders["marian"])]) == 0
    assert "installed opus-mt-az-en (ctranslate2/marian" in capsys.readouterr().out

    assert main(["models", "list"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    nllb_size = sum(p.stat().st_size for p in (models_dir / "nllb-test").rglob("*") if p.is_file())
    assert rows["nllb-test"][1] == "ctranslate2/nllb"
    # other tests of the session may have installed Argos kk: it would keep kk
    in_use = [c for c in ("az", "kk", "ru", "zh") if available_models()[c].name == "nllb-test"]
    assert {"az", "zh"} <= set(in_use) and "ru" not in in_use
    assert rows["nllb-test"][3:7] == [
        f"{nllb_size / 1e6:.1f}",
        "MB",
        "az,kk,ru,zh",
        ",".join(in_use),
    ]
    assert rows["opus-mt-az-en"][1] == "ctranslate2/marian"
    assert rows["opus-mt-az-en"][5:7] == ["az", "-"]  # az goes to nllb-test (first by name)
    assert rows["ru-en"][1:2] + rows["ru-en"][5:7] == ["argos", "ru", "ru"]
    # the installed copy is what routing loads, not the folder it came from
    assert available_models()["az"].path == models_dir / "nllb-test"


def test_a_folder_is_checked_before_it_is_installed(
    folders: dict[str, Path], models_dir: Path, tmp_path: Path, capsys
) -> None:
    def install(*args: str) -> str:
        assert main(["models", "install", *args]) == 1
        return capsys.readouterr().err

    assert "not a CTranslate2 model (no model.bin, config.json)" in install("--dir", str(tmp_path))
    assert "serves no ka" in install("ka", "--dir", str(folders["nllb"]))
    unnamed = tmp_path / "my-marian"
    build_marian_folder(unnamed)
    assert "name it with --languages" in install("--dir", str(unnamed))
    broken = tmp_path / "broken-nllb"
    build_nllb_folder(broken)
    (broken / "model.bin").write_bytes((broken / "model.bin").read_bytes()[:-2000])
    assert "the trial translation failed" in install("--dir", str(broken))
    (broken / "sentencepiece.bpe.model").unlink()
    assert "expected its SentencePiece model" in install("--dir", str(broken))
    assert ct2_models.installed() == []


def test_each_language_goes_to_its_chosen_engine_with_provenance(
    folders: dict[str, Path],
    models_dir: Path,
    ru_model: ModelInfo,
) -> None:
    nllb = ct2_models.install_folder(folders["nllb"], name="nllb-test")
    marian = ct2_models.install_folder(folders["marian"])
    items = [("az", "Xəbərlər", AZ_TEXT), ("ru", "Новости", RU_TEXT), ("zh", None, "今天早上。")]

    # nothing chosen: Argos where it has a model, else the first CTranslate2 model serving it
    az, ru, zh = translate_articles(items)
    assert (az.model, ru.model, zh.model) == (
        f"ctranslate2:nllb-test@{nllb.version}",
        ru_model.model_id,
        f"ctranslate2:nllb-test@{nllb.version}",
    )
    assert all(t.status == "done" and t.text_en for t in (az, ru, zh))
    assert az.text_en.count("\n") == 1 and [p.position for p in az.paragraphs] == [0, 1]
    assert {p.model for p in az.paragraphs} == {az.model}

    # chosen in sources.yaml: Marian for az, NLLB for ru; a model not installed falls back
    choice = {"az": "opus-mt-az-en", "ru": "nllb-test", "zh": "not-installed"}
    az, ru, zh = translate_articles(items, choice=choice)
    assert (az.model, ru.model, zh.model) == (
        f"ctranslate2:opus-mt-az-en@{marian.version}",
        f"ctranslate2:nllb-test@{nllb.version}",
        f"ctranslate2:nllb-test@{nllb.version}",
    )
    # NLLB is loaded once for every language and batch it serves
    assert translate._translator(available_models(choice)["ru"]).loaded is (
        translate._translator(available_models(choice)["zh"]).loaded
    )
    assert [k for k in translate._ct2_loaded if k[0] == nllb.path] == [(nllb.path, nllb.version)]
    # a language only Argos serves, chosen for a CTranslate2 model that lacks it: Argos
    assert translate_articles([("ru", None, RU_TEXT)], choice={"ru": "opus-mt-az-en"})[0].model == (
        ru_model.model_id
    )


def test_nllb_input_has_its_language_code_and_output_its_target_prefix(
    folders: dict[str, Path], models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What reaches CTranslate2: `[azj_Latn, pieces..., </s>]`, target prefix `eng_Latn`."""
    ct2_models.install_folder(folders["nllb"], name="nllb-test")
    model = available_models()["az"]
    loaded = translate._loaded_ct2(model.path, model.version)
    calls: list[tuple] = []

    class Spy:
        def translate_batch(self, tokens, target_prefix=None, **options):
            calls.append((tokens, target_prefix))
            return loaded.model.translate_batch(tokens, target_prefix=target_prefix, **options)

    spied = dataclasses.replace(loaded, model=Spy())
    monkeypatch.setitem(translate._ct2_loaded, (model.path, model.version), spied)
    translate_articles([("az", None, AZ_TEXT)])
    [(tokens, prefix)] = calls
    assert len(tokens) == 3  # two sentences, then one: split offline on punctuation
    assert all(t[0] == "azj_Latn" and t[-1] == "</s>" for t in tokens)
    assert prefix == [["eng_Latn"]] * 3


def test_sentences_split_offline_as_a_rule_based_splitter_does() -> None:
    assert split_sentences("Мост закрыт. Цены выросли!  Суд? ") == [
        "Мост закрыт.",
        "Цены выросли!",
        "Суд?",
    ]
    assert split_sentences("今天早上。价格上涨！法院") == ["今天早上。", "价格上涨！", "法院"]
    assert split_sentences("3.5 million, no break") == ["3.5 million, no break"]


def test_backlog_goes_to_the_chosen_engine_then_retranslation_keeps_history(
    warehouse: Path,  # noqa: F811
    folders: dict[str, Path],
    models_dir: Path,
    ru_model: ModelInfo,
    tmp_path: Path,
    configure: Callable[..., object],
    prefect_api: None,
    capsys,
) -> None:
    choose(tmp_path, configure, az="opus-mt-az-en", ru="nllb-test")
    _ingest(
        [
            _article("https://az/1", "az", "Xəbərlər", AZ_TEXT),
            _article("https://ru/1", "ru", "Новости", RU_TEXT),
            _article("https://ru/2", "ru", None, "Суд начался."),
        ]
    )
    # ru has its Argos model (nllb-test is not installed yet); az waits for one
    assert _rows("SELECT url, translation_status, translation_model FROM articles ORDER BY 1") == [
        ("https://az/1", "pending_model", None),
        ("https://ru/1", "done", ru_model.model_id),
        ("https://ru/2", "done", ru_model.model_id),
    ]
    old_ru = _rows("SELECT url, title_en, text_en FROM articles WHERE language = 'ru' ORDER BY 1")

    # the backlog through the CLI: installing translates what waited, az by the Marian model
    assert main(["models", "install", "az", "--dir", str(folders["marian"])]) == 0
    out = capsys.readouterr().out
    assert "1 articles in az waited for a model: translating them" in out
    assert "'done': 1" in out
    assert main(["translate"]) == 0
    assert "none pending" in capsys.readouterr().out
    marian = ct2_models.installed()[0]
    [(status, model, title_en)] = _rows(
        "SELECT translation_status, translation_model, title_en FROM articles WHERE url = ?",
        "https://az/1",
    )
    assert (status, model) == ("done", f"ctranslate2:opus-mt-az-en@{marian.version}")
    assert title_en
    assert _rows("SELECT DISTINCT model FROM paragraphs WHERE url = 'https://az/1'") == [(model,)]
    assert (
        _rows("SELECT engine, model, model_version FROM translation_cache WHERE engine <> 'argos'")
        == [("ctranslate2", "opus-mt-az-en", marian.version)] * 3
    )

    # NLLB arrives, chosen for ru: installing it offers the re-translation, and does nothing
    assert main(["models", "install", "--dir", str(folders["nllb"]), "--name", "nllb-test"]) == 0
    out = capsys.readouterr().out
    nllb_id = f"ctranslate2:nllb-test@{ct2_models.installed()[0].version}"
    assert f"ru: 2 articles translated by {ru_model.model_id}; {nllb_id} translates it now" in out
    assert "newsflow translate --retranslate ru" in out
    assert _rows("SELECT count(*) FROM translation_history") == [(0,)]

    # the flow (on the Prefect API) re-translates ru; az keeps its Marian translation
    counts = translate_backlog(retranslate=["ru", "az"])
    assert counts == {"retranslated": 2}
    rows = _rows("SELECT url, translation_model FROM articles ORDER BY 1")
    assert rows == [("https://az/1", model), ("https://ru/1", nllb_id), ("https://ru/2", nllb_id)]
    history = _rows(
        "SELECT url, title_en, text_en, translation_model, replaced_by FROM translation_history "
        "ORDER BY 1"
    )
    assert history == [(*old, ru_model.model_id, nllb_id) for old in old_ru]
    assert _rows("SELECT DISTINCT model FROM paragraphs WHERE url LIKE 'https://ru/%'") == [
        (nllb_id,)
    ]
    # what depends on the English follows: search index and story signatures
    with store.connect() as conn:
        assert search._in_step(conn)
    for url, text_en in _rows("SELECT url, text_en FROM articles WHERE language = 'ru'"):
        [(signature,)] = _rows("SELECT minhash FROM story_clusters WHERE url = ?", url)
        assert np.array_equal(np.array(signature, np.uint64), minhash(text_en))
    # nothing left to re-translate: the install says nothing more, a second run does nothing
    assert translate_backlog(retranslate=["ru"]) == {}


def test_install_with_retranslate_runs_it(
    warehouse: Path,  # noqa: F811
    folders: dict[str, Path],
    models_dir: Path,
    tmp_path: Path,
    configure: Callable[..., object],
    prefect_api: None,
    capsys,
) -> None:
    """An Argos model first, then OPUS-MT chosen for its language: `--retranslate` redoes it.

    Uzbek, which no other test installs an Argos model for (the session shares them).
    """
    install_model_file(build_argos_package(tmp_path, "uz"))
    choose(tmp_path, configure, uz="opus-mt-uz-en")
    _ingest([_article("https://uz/1", "uz", None, AZ_TEXT)])
    assert _rows("SELECT translation_model FROM articles") == [("argos:uz-en@0.1",)]
    marian = ["uz", "--dir", str(folders["marian"]), "--name", "opus-mt-uz-en"]
    assert main(["models", "install", *marian, "--retranslate"]) == 0
    assert "'retranslated': 1" in capsys.readouterr().out
    [(model,)] = _rows("SELECT translation_model FROM articles")
    assert model.startswith("ctranslate2:opus-mt-uz-en@")
    assert _rows("SELECT translation_model, replaced_by FROM translation_history") == [
        ("argos:uz-en@0.1", model)
    ]


def test_the_choice_is_read_from_sources_yaml_defaults_and_checked(
    tmp_path: Path, configure: Callable[..., object], capsys
) -> None:
    """Every source carries it into the ingest's translation; a malformed one is refused."""
    from connectors.config import load_sources, translation_choice

    choose(tmp_path, configure, AZ="nllb-200-distilled-600M")
    assert translation_choice() == {"az": "nllb-200-distilled-600M"}
    assert {s.translation for s in load_sources()} == {(("az", "nllb-200-distilled-600M"),)}
    path = tmp_path / "sources.yaml"
    path.write_text(path.read_text().replace("AZ: nllb-200-distilled-600M", "az: [a, b]"))
    assert main(["sources", "check", str(path)]) == 1
    assert "translation" in capsys.readouterr().err
