"""Build converted CTranslate2 model folders of NLLB-200's and Marian/OPUS-MT's real shape.

Random weights (the English is gibberish and does not depend on the input), but the folders are
what `ct2-transformers-converter` / `ct2-opus-mt-converter` write: model.bin, config.json, the
vocabulary JSON and the SentencePiece model(s) beside them, with each model's conventions:

- NLLB: one SentencePiece model (`sentencepiece.bpe.model`), a shared vocabulary in fairseq's
  order (`<s> <pad> </s> <unk>`, the pieces, the FLORES-200 language codes, `<mask>`), pre-norm,
  decoding starts from `</s>` and the target prefix `eng_Latn`.
- Marian: `source.spm` and `target.spm` trained on each side's text, one vocabulary over both
  (`</s> <unk>` first, as OPUS-MT's vocab.yml), post-norm with swish, decoding from `</s>`.
"""

from __future__ import annotations

import functools
import random
import shutil
from dataclasses import replace
from pathlib import Path

from argos_package import (
    SENTENCE_END,
    WORDS,
    Architecture,
    save_ctranslate2_model,
    train_sentencepiece,
)

# Languages an NLLB-style test model carries codes for (besides eng_Latn); az is not among
# them unless asked, so tests can install one NLLB model for some languages only.
NLLB_CODES = ("rus_Cyrl", "zho_Hans", "azj_Latn", "kaz_Cyrl")
NLLB_600M = Architecture(
    12, 1024, 16, 4096, 256_206, "int8", eos_bias=6.0, output_tokens=25, tied=True
)  # NLLB-200 distilled 600M's shape and vocabulary size
MARIAN_SIZE = Architecture(
    6,
    512,
    8,
    2048,
    32_000,
    "int8",
    eos_bias=6.0,
    output_tokens=25,
    pre_norm=False,
    activation="swish",
    tied=True,
)  # OPUS-MT's transformer(-align) shape
TINY = Architecture(output_tokens=3, tied=True)  # every output three tokens
WORDS_AZ = "xəbərlər şəhər rəsmilər bildirdi bu gün səhər yol körpü məktəb məhkəmə bazar qiymətlər"


def build_nllb_folder(
    dest: Path,
    codes: tuple[str, ...] = NLLB_CODES,
    architecture: Architecture = TINY,
) -> Path:
    """Write an NLLB-style converted model folder at dest (replaced if there) and return it."""
    sp_model, pieces = _spm(("ru", "zh", "az", "en"))
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    ordinary = [p for p in pieces if p not in ("<unk>", "<s>", "</s>")]
    languages = [*codes, "eng_Latn"]
    padding = max(0, architecture.vocab - len(specials) - len(ordinary) - len(languages) - 1)
    vocabulary = [
        *specials,
        *ordinary,
        *(f"▁pad{i}" for i in range(padding)),
        *languages,
        "<mask>",
    ]
    folder = _fresh(dest)
    save_ctranslate2_model(
        folder, vocabulary, architecture, decoder_start="</s>", chain_from="eng_Latn"
    )
    (folder / "sentencepiece.bpe.model").write_bytes(sp_model)
    return folder


def build_marian_folder(
    dest: Path, source: str = "az", architecture: Architecture | None = None
) -> Path:
    """Write a Marian/OPUS-MT-style converted folder (source → en) at dest and return it."""
    arch = architecture or replace(TINY, pre_norm=False, activation="swish")
    source_model, source_pieces = _spm((source,))
    target_model, target_pieces = _spm(("en",))
    vocabulary = ["</s>", "<unk>"]
    for piece in (*source_pieces, *target_pieces):
        if piece not in ("<unk>", "<s>", "</s>") and piece not in vocabulary:
            vocabulary.append(piece)
    vocabulary += [f"▁pad{i}" for i in range(max(0, arch.vocab - len(vocabulary)))]
    folder = _fresh(dest)
    save_ctranslate2_model(folder, vocabulary, arch, decoder_start="</s>")
    (folder / "source.spm").write_bytes(source_model)
    (folder / "target.spm").write_bytes(target_model)
    return folder


def _fresh(dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    return dest


def _text(language: str) -> str:
    return WORDS_AZ if language == "az" else WORDS[language]


@functools.cache
def _spm(languages: tuple[str, ...]) -> tuple[bytes, tuple[str, ...]]:
    """A small SentencePiece model trained in memory on these languages' test words."""
    rng = random.Random(5)
    lines = []
    for i in range(300):
        language = languages[i % len(languages)]
        words = _text(language).split()
        sep = "" if language == "zh" else " "
        lines.append(
            sep.join(rng.choice(words) for _ in range(rng.randint(3, 9)))
            + rng.choice(SENTENCE_END[3:] if language == "zh" else SENTENCE_END[:3])
        )
    return train_sentencepiece(tuple(lines), 200)
