"""Offline translation to English, batched per model: Argos packages and CTranslate2 models.

Each language goes to the model processing.models.available_models routes it to (sources.yaml's
choice, else Argos, else a CTranslate2 model that serves it). Both engines take the same path:
sentences split offline, those of a whole batch of articles in one `translate_batch`, a cache,
and the model's engine, name and version recorded with every translation. A model is loaded
once per process and shared by every batch (and, for NLLB, by every language it serves).

Paragraphs stay paragraphs; each title and paragraph is detected on its own, so English ones
inside a Russian article are kept, not sent to a model. Every text still to translate in a
batch of articles goes to its model in one call (one CTranslate2 `translate_batch` over the
sentences of all of them); a cache keyed by text hash and model version skips what was done.

argostranslate is imported lazily: `argostranslate.translate` pulls stanza, spaCy and torch (~4 s).
Its settings (ARGOS_PACKAGES_DIR, XDG_*_HOME, ARGOS_BEAM_SIZE, ARGOS_BATCH_SIZE, ARGOS_DEVICE_TYPE,
ARGOS_COMPUTE_TYPE, ARGOS_INTER_THREADS, ARGOS_INTRA_THREADS, ARGOS_CHUNK_TYPE) are read from the
environment when it is first imported, so set them before the first call.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from connectors.records import TranslationStatus
from processing.language import UNDETERMINED, detect_language, normalize_code
from processing.models import ARGOS, TARGET, ModelInfo, available_models
from processing.records import ParagraphTranslation, Translation


class TranslationCache(Protocol):
    """Translations already made, keyed by source text and model (name and version)."""

    def get(self, model: ModelInfo, texts: Sequence[str]) -> dict[str, str]:
        """The English of those texts that were translated by this model before."""
        ...

    def put(self, model: ModelInfo, translations: Mapping[str, str]) -> None:
        """Remember new translations (source text → English) made by this model."""
        ...


@dataclass(frozen=True)
class _Part:
    """A title or paragraph, its detected language, and the model that will translate it."""

    text: str
    language: str
    model: ModelInfo | None  # None: kept as it is (English, blank, no letters)


def translate_articles(
    items: Sequence[tuple[str, str | None, str]],
    cache: TranslationCache | None = None,
    choice: Mapping[str, str] | None = None,
) -> list[Translation]:
    """Translate (language, title, text) items to English; results come back in input order.

    choice: the model chosen per language (sources.yaml `defaults: translation:`).

    An article whose language has no installed model is "pending_model"; English ones are
    "not_needed". Each distinct text is sent to a model at most once per call, and not at all
    when the cache already has it.
    """
    results: list[Translation | None] = [None] * len(items)
    plans: dict[int, tuple[_Part | None, list[_Part]]] = {}
    models: dict[str, ModelInfo] | None = None
    for i, (lang, title, text) in enumerate(items):
        code = lang.strip().lower()
        if code == TARGET or code.startswith(TARGET + "-"):
            results[i] = Translation(TranslationStatus.NOT_NEEDED, title, text, None)
            continue
        if code == UNDETERMINED:
            results[i] = Translation(
                TranslationStatus.FAILED, error="language could not be determined"
            )
            continue
        if models is None:
            models = available_models(choice)
        main = _model_for(code, models)
        if main is None:
            results[i] = Translation(TranslationStatus.PENDING_MODEL)
            continue
        parts = [_part(p, code, main) for p in text.split("\n")]
        plans[i] = (None if title is None else _part(title, code, main), parts)

    wanted: dict[ModelInfo, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, (title, parts) in plans.items():
        for part in [title, *parts]:
            if part is not None and part.model is not None:
                wanted[part.model][part.text].append(i)
    english: dict[tuple[ModelInfo, str], str] = {}
    failures: dict[int, Translation] = {}
    for model, texts in wanted.items():
        done, failed = _translate_for_model(model, texts, cache)
        english.update(((model, text), en) for text, en in done.items())
        for i, error in failed.items():
            failures.setdefault(
                i, Translation(TranslationStatus.FAILED, model=model.model_id, error=error)
            )

    def english_of(part: _Part) -> str:
        return part.text if part.model is None else english[(part.model, part.text)]

    for i, (title, parts) in plans.items():
        if i in failures:
            results[i] = failures[i]
            continue
        used = next((p.model.model_id for p in [title, *parts] if p and p.model), None)
        paragraphs = tuple(
            ParagraphTranslation(
                pos, p.text, english_of(p), p.language, p.model.model_id if p.model else None
            )
            for pos, p in enumerate(parts)
            if p.text.strip()
        )
        results[i] = Translation(
            TranslationStatus.DONE
            if used
            else TranslationStatus.NOT_NEEDED,  # a "Russian" article that is all English
            None if title is None else english_of(title),
            "\n".join(english_of(p) for p in parts),
            used,
            paragraphs=paragraphs if used else (),
        )
    return [r for r in results if r is not None]


def _part(text: str, article_language: str, model: ModelInfo) -> _Part:
    """A title or paragraph with its own language (the article's breaks ties).

    English ones, and those with no letters, are kept as they are; every other one goes to the
    article's model (langdetect confuses close languages, so a paragraph's own guess never
    picks another model).
    """
    if not text.strip():
        return _Part(text, article_language, None)
    language = detect_language(text, article_language)
    return _Part(text, language, None if language in (TARGET, UNDETERMINED) else model)


def _translate_for_model(
    model: ModelInfo, texts: Mapping[str, list[int]], cache: TranslationCache | None
) -> tuple[dict[str, str], dict[int, str]]:
    """English of the texts (cached, else one model call), and the error of each failed article.

    If the one call fails, each article's texts are retried alone so only the bad ones fail.
    """
    english = cache.get(model, list(texts)) if cache else {}
    missing = [t for t in texts if t not in english]
    if not missing:
        return english, {}
    try:
        translator = _translator(model)
    except Exception as exc:
        return english, {i: _error(exc) for t in missing for i in texts[t]}
    new: dict[str, str] = {}
    failures: dict[int, str] = {}
    try:
        new.update(zip(missing, translator.translate(missing), strict=True))
    except Exception as exc:
        by_article: dict[int, list[str]] = defaultdict(list)
        for text in missing:
            for i in texts[text]:
                by_article[i].append(text)
        if len(by_article) == 1:
            return english, dict.fromkeys(by_article, _error(exc))
        for i, own in by_article.items():
            todo = [t for t in own if t not in new]
            try:
                new.update(zip(todo, translator.translate(todo), strict=True))
            except Exception as article_exc:
                failures[i] = _error(article_exc)
    if cache and new:
        cache.put(model, new)
    english.update(new)
    return english, failures


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


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
        tokenizer, prefix = self.package.tokenizer, self.package.target_prefix
        sentences = [self.splitter.split_sentences(text) for text in texts]
        tokens = [tokenizer.encode(s) for per_text in sentences for s in per_text]
        hypotheses = _best(self.model, tokens, prefix, replace_unknowns=True)
        out = []
        for per_text in sentences:
            pieces = [piece for _ in per_text for piece in next(hypotheses)]
            out.append(tokenizer.decode(pieces).strip() if pieces else "")
        return out


def _best(
    model: Any, tokens: list[list[str]], prefix: str | None, **options: Any
) -> Iterator[list[str]]:
    """The best hypothesis of each tokenized sentence, from one `translate_batch` call, without
    the target prefix; beam and batch size as Argos' settings say, for every engine alike."""
    from argostranslate import settings

    if not tokens:
        return
    for result in model.translate_batch(
        tokens,
        target_prefix=[[prefix]] * len(tokens) if prefix else None,
        max_batch_size=settings.batch_size,
        batch_type="examples",
        beam_size=settings.beam_size,
        num_hypotheses=1,
        length_penalty=0.2,
        **options,
    ):
        hypothesis = result.hypotheses[0]
        yield hypothesis[1:] if prefix and hypothesis[:1] == [prefix] else hypothesis


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


class _CT2Translator:
    """One language's use of a CTranslate2 model (NLLB or Marian); the model itself is shared.

    NLLB: the source is `[language code] + pieces + </s>` and the output starts with
    `eng_Latn`, as the model was trained; Marian: `pieces + </s>`, its own target tokenizer.
    """

    def __init__(self, model: ModelInfo) -> None:
        self.info = model
        self.loaded = _loaded_ct2(model.path, model.version)

    def translate(self, texts: Sequence[str]) -> list[str]:
        """Translate paragraphs: the sentences of all of them go to one `translate_batch` call.

        Output is capped at twice the longest input and 16 tokens: a seq2seq model that falls
        into a repetition loop otherwise decodes to CTranslate2's 256-token limit.
        """
        loaded, target = self.loaded, self.info.target_token
        sentences = [loaded.split(text) for text in texts]
        tokens = [self.tokens(s) for per_text in sentences for s in per_text]
        longest = max((len(t) for t in tokens), default=0)
        hypotheses = _best(loaded.model, tokens, target, max_decoding_length=2 * longest + 16)
        out = []
        for per_text in sentences:
            english = []
            for _ in per_text:
                hypothesis = next(hypotheses)
                english.append(loaded.target_spm.decode(hypothesis).strip())
            out.append(" ".join(e for e in english if e))
        return out

    def tokens(self, sentence: str) -> list[str]:
        """A sentence as the model reads it: its pieces and `</s>`, after NLLB's language code."""
        source = self.info.source_token
        pieces = self.loaded.source_spm.encode(sentence, out_type=str)
        return [*([source] if source else []), *pieces, "</s>"]


@dataclass(frozen=True)
class _LoadedCT2:
    """A CTranslate2 model, its SentencePiece models and sentence splitter, loaded once."""

    model: Any
    source_spm: Any
    target_spm: Any
    splitter: Any  # MiniSBD's detector where the folder bundles minisbd/*.onnx, else None

    def split(self, text: str) -> list[str]:
        """Sentences, offline: the bundled MiniSBD model as Argos uses it, else by punctuation."""
        if self.splitter is not None:
            return [s for s in self.splitter.sentences(text) if s.strip()]
        return split_sentences(text)


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\S)|(?<=[。！？])\s*(?=\S)")


def split_sentences(text: str) -> list[str]:
    """Split after `.!?…` followed by a space and after `。！？`: what a rule-based MiniSBD does."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


_ct2_loaded: dict[tuple[Path, str], _LoadedCT2] = {}


def _loaded_ct2(path: Path, version: str) -> _LoadedCT2:
    """Load a CTranslate2 model folder once per process (an NLLB-600M int8 is ~600 MB)."""
    key = (path, version)
    if key not in _ct2_loaded:
        import ctranslate2
        import sentencepiece
        from argostranslate import settings

        from processing.ct2_models import MANIFEST

        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        onnx = sorted((path / "minisbd").glob("*.onnx"))
        splitter = None
        if onnx:
            from minisbd import SBDetect

            splitter = SBDetect(str(onnx[0]), use_gpu=settings.device == "cuda")
        _ct2_loaded[key] = _LoadedCT2(
            ctranslate2.Translator(
                str(path),
                device=settings.device,
                inter_threads=settings.inter_threads,
                intra_threads=settings.intra_threads,
                compute_type=settings.compute_type,
            ),
            sentencepiece.SentencePieceProcessor(model_file=str(path / manifest["source_spm"])),
            sentencepiece.SentencePieceProcessor(model_file=str(path / manifest["target_spm"])),
            splitter,
        )
    return _ct2_loaded[key]


class Engine(Protocol):
    """A loaded model for one language: paragraphs in, English out, in order."""

    def translate(self, texts: Sequence[str]) -> list[str]: ...


_translators: dict[ModelInfo, Engine] = {}


def _translator(model: ModelInfo) -> Engine:
    """The loaded translator for a model (path and version), kept for the life of the process."""
    if model not in _translators:
        _translators[model] = (
            _PairTranslator(model) if model.engine == ARGOS else _CT2Translator(model)
        )
    return _translators[model]


def _model_for(code: str, models: dict[str, ModelInfo]) -> ModelInfo | None:
    """Match a language tag to a model: exact, then its Argos code (zh-cn → zh, zh-tw → zt).

    Traditional Chinese (zt) goes to its own Argos model only, never to the Simplified one:
    without `zt` installed, such articles stay pending until it is.
    """
    for candidate in (code, normalize_code(code)):
        if candidate and candidate in models:
            return models[candidate]
    return None
