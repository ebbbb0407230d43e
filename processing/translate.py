"""Offline translation to English with installed Argos Translate packages, batched per language.

argostranslate is imported lazily: `argostranslate.translate` pulls stanza, spaCy and torch (~4 s).
Its settings (ARGOS_PACKAGES_DIR, XDG_*_HOME, ARGOS_BEAM_SIZE, ARGOS_BATCH_SIZE, ARGOS_DEVICE_TYPE,
ARGOS_COMPUTE_TYPE, ARGOS_INTER_THREADS, ARGOS_INTRA_THREADS, ARGOS_CHUNK_TYPE) are read from the
environment when it is first imported, so set them before the first call.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from processing.language import UNDETERMINED
from processing.records import Translation

TARGET = "en"
# Language tags whose Argos code is not their primary subtag (langdetect says zh-tw).
_ALIASES = {"zh-tw": "zt", "zh-hant": "zt"}


class ModelInstallError(Exception):
    """A model file could not be installed (missing, not a zip, not an Argos package)."""


@dataclass(frozen=True)
class ModelInfo:
    """An installed X→en Argos package, as recorded with each translation."""

    from_code: str
    to_code: str
    name: str
    version: str
    path: Path

    @property
    def model_id(self) -> str:
        """Provenance stored with translations, e.g. "argos:ru-en@1.9"."""
        return f"argos:{self.name}@{self.version}"


def installed_models() -> dict[str, ModelInfo]:
    """Installed X→en packages keyed by source language; the highest version wins."""
    from argostranslate import package

    best: dict[str, ModelInfo] = {}
    for pkg in package.get_installed_packages():
        if pkg.type != "translate" or pkg.to_code != TARGET or not pkg.from_code:
            continue
        info = _model_info(pkg)
        current = best.get(info.from_code)
        if current is None or _version_key(info.version) > _version_key(current.version):
            best[info.from_code] = info
    return best


def install_model_file(path: Path) -> ModelInfo:
    """Install a `.argosmodel` file, checked first: one bad folder breaks every package listing."""
    path = Path(path)
    top = _check_package_file(path)
    from argostranslate import package, settings

    try:
        package.install_from_path(path)
        installed = package.Package(Path(settings.package_data_dir) / top)
    except Exception as exc:
        raise ModelInstallError(f"{path}: could not install: {exc}") from exc
    _clear_caches()
    return _model_info(installed)


def translate_articles(items: Sequence[tuple[str, str | None, str]]) -> list[Translation]:
    """Translate (language, title, text) items to English, one model batch per language.

    Paragraphs ("\\n"-separated) stay paragraphs; results come back in input order.
    """
    results: list[Translation | None] = [None] * len(items)
    by_model: dict[ModelInfo, list[int]] = defaultdict(list)
    models: dict[str, ModelInfo] | None = None
    for i, (lang, title, text) in enumerate(items):
        code = lang.strip().lower()
        if code == TARGET or code.startswith(TARGET + "-"):
            results[i] = Translation("not_needed", title, text, None)
            continue
        if code == UNDETERMINED:
            results[i] = Translation("failed", error="language could not be determined")
            continue
        if models is None:
            models = installed_models()
        model = _model_for(code, models)
        if model is None:
            results[i] = Translation("pending_model")
        else:
            by_model[model].append(i)

    for model, indices in by_model.items():
        articles = [(items[i][1], items[i][2]) for i in indices]
        for i, result in zip(indices, _translate_group(model, articles), strict=True):
            results[i] = result
    return cast(list[Translation], results)


def _translate_group(model: ModelInfo, articles: list[tuple[str | None, str]]) -> list[Translation]:
    """All articles in one batch; if that fails, retry one by one so only the bad ones fail."""
    try:
        translator = _translator(model)
    except Exception as exc:
        return [_failed(model, exc)] * len(articles)
    try:
        return _translate_batch(translator, model, articles)
    except Exception as exc:
        if len(articles) == 1:
            return [_failed(model, exc)]
    results = []
    for article in articles:
        try:
            results.extend(_translate_batch(translator, model, [article]))
        except Exception as exc:
            results.append(_failed(model, exc))
    return results


def _translate_batch(
    translator: _PairTranslator, model: ModelInfo, articles: list[tuple[str | None, str]]
) -> list[Translation]:
    """Send every title and non-empty paragraph of the articles to the model in one call."""
    texts: dict[str, str] = {}
    for title, text in articles:
        for part in [title or "", *text.split("\n")]:
            if part.strip():
                texts[part] = ""
    unique = list(texts)
    texts.update(zip(unique, translator.translate(unique), strict=True))

    def english(part: str) -> str:
        return texts[part] if part.strip() else ""

    return [
        Translation(
            "done",
            None if title is None else english(title),
            "\n".join(english(p) for p in text.split("\n")),
            model.model_id,
        )
        for title, text in articles
    ]


def _failed(model: ModelInfo, exc: Exception) -> Translation:
    return Translation("failed", model=model.model_id, error=f"{type(exc).__name__}: {exc}")


class _PairTranslator:
    """An Argos package loaded once: its sentence splitter, tokenizer and CTranslate2 model."""

    def __init__(self, model: ModelInfo) -> None:
        import ctranslate2
        from argostranslate import package, sbd, settings
        from argostranslate.translate import Language, PackageTranslation

        pkg = package.Package(model.path)
        from_lang, to_lang = Language(pkg.from_code, pkg.from_name), Language(TARGET, pkg.to_name)
        # PackageTranslation picks the splitter as argostranslate does (ARGOS_CHUNK_TYPE, bundle).
        argos = PackageTranslation(from_lang, to_lang, pkg)
        splitter = argos.sentencizer
        if isinstance(splitter, sbd.MiniSBDSentencizer) and not os.path.isfile(splitter.lang):
            raise RuntimeError(
                f"{model.path} bundles no minisbd/*.onnx sentence splitter; "
                "argostranslate would download one, and translation must stay offline"
            )
        if isinstance(splitter, sbd.StanzaSentencizer):
            splitter.stanza_pipeline = _offline_stanza(splitter, pkg.package_path / "stanza")
        argos.translator = ctranslate2.Translator(
            str(model.path / "model"),
            device=settings.device,
            inter_threads=settings.inter_threads,
            intra_threads=settings.intra_threads,
            compute_type=settings.compute_type,
        )
        self.package: Any = pkg
        self.splitter: Any = splitter
        self.model: Any = argos.translator

    def translate(self, texts: Sequence[str]) -> list[str]:
        """Translate paragraphs: the sentences of all of them go to one `translate_batch` call."""
        from argostranslate import settings

        tokenizer, prefix = self.package.tokenizer, self.package.target_prefix
        sentences = [self.splitter.split_sentences(text) for text in texts]
        tokens = [tokenizer.encode(s) for per_text in sentences for s in per_text]
        results = iter(
            self.model.translate_batch(
                tokens,
                target_prefix=[[prefix]] * len(tokens) if prefix else None,
                replace_unknowns=True,
                max_batch_size=settings.batch_size,
                batch_type="tokens",
                beam_size=settings.beam_size,
                num_hypotheses=1,
                length_penalty=0.2,
            )
            if tokens
            else []
        )
        out = []
        for per_text in sentences:
            pieces: list[str] = []
            for _ in per_text:
                hypothesis = next(results).hypotheses[0]
                pieces.extend(
                    hypothesis[1:] if prefix and hypothesis[:1] == [prefix] else hypothesis
                )
            out.append(tokenizer.decode(pieces).strip() if pieces else "")
        return out


def _offline_stanza(splitter: Any, stanza_dir: Path) -> Any:
    """Stanza's default fetches resources.json online; a bundled model needs no network."""
    import stanza
    from argostranslate import settings

    return stanza.Pipeline(
        lang=splitter.stanza_lang_code,
        dir=str(stanza_dir),
        processors="tokenize",
        use_gpu=settings.device == "cuda",
        logging_level="WARNING",
        download_method=None,
    )


_translators: dict[ModelInfo, _PairTranslator] = {}


def _translator(model: ModelInfo) -> _PairTranslator:
    """The loaded translator for a model, kept for the life of the process."""
    if model not in _translators:
        _translators[model] = _PairTranslator(model)
    return _translators[model]


def _clear_caches() -> None:
    """Forget loaded translators here and in argostranslate (its install does not, see notes)."""
    _translators.clear()
    from argostranslate import translate

    translate.installed_translates.clear()
    translate.get_installed_languages.cache_clear()


def _model_for(code: str, models: dict[str, ModelInfo]) -> ModelInfo | None:
    """Match a language tag to a model: exact, alias, then primary subtag (zh-cn → zh)."""
    for candidate in (code, _ALIASES.get(code), code.split("-")[0]):
        if candidate and candidate in models:
            return models[candidate]
    return None


def _model_info(pkg: Any) -> ModelInfo:
    return ModelInfo(
        from_code=pkg.from_code,
        to_code=pkg.to_code,
        name=f"{pkg.from_code}-{pkg.to_code}",
        version=pkg.package_version,
        path=Path(pkg.package_path),
    )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


def _check_package_file(path: Path) -> str:
    """Return the package's single top-level folder, or raise ModelInstallError naming the file."""
    if not path.is_file():
        raise ModelInstallError(f"{path}: no such model file")
    if not zipfile.is_zipfile(path):
        raise ModelInstallError(f"{path}: not an Argos model (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            tops = {name.split("/", 1)[0] for name in names}
            if len(tops) != 1 or not any("/" in name for name in names):
                found = sorted(tops)
                raise ModelInstallError(
                    f"{path}: not an Argos model (expected one top-level folder, found {found})"
                )
            top = tops.pop()
            if f"{top}/metadata.json" not in names:
                raise ModelInstallError(f"{path}: not an Argos model (no {top}/metadata.json)")
            metadata = json.loads(zf.read(f"{top}/metadata.json"))
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, OSError) as exc:
        raise ModelInstallError(f"{path}: unreadable Argos model: {exc}") from exc
    if (
        not isinstance(metadata, dict)
        or not metadata.get("from_code")
        or not metadata.get("to_code")
    ):
        raise ModelInstallError(f"{path}: metadata.json lacks from_code/to_code")
    if top in {"", ".", ".."}:
        raise ModelInstallError(f"{path}: invalid top-level folder {top!r}")
    return top
