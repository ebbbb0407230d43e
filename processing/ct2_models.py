"""CTranslate2 models to English (NLLB-200, Marian/OPUS-MT): checked, installed and listed.

Such a model is converted once on a machine with internet (`ct2-transformers-converter`,
`ct2-opus-mt-converter`, see the README) and copied here as a folder: `model.bin`,
`config.json`, its vocabulary JSON file(s) and SentencePiece model(s). `install_folder` checks
it (files present, languages it serves, a trial translation), copies it beside Argos' packages
and writes a manifest, so listing and routing never load the model (nor import ctranslate2).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ENGINE = "ctranslate2"
MANIFEST = "newsflow-model.json"
NLLB_TARGET = "eng_Latn"
# newsflow's language codes (those langdetect and Argos use) → NLLB-200's FLORES-200 codes.
FLORES = {
    "ar": "arb_Arab",
    "az": "azj_Latn",
    "be": "bel_Cyrl",
    "bg": "bul_Cyrl",
    "cs": "ces_Latn",
    "de": "deu_Latn",
    "el": "ell_Grek",
    "es": "spa_Latn",
    "fa": "pes_Arab",
    "fi": "fin_Latn",
    "fr": "fra_Latn",
    "he": "heb_Hebr",
    "hi": "hin_Deva",
    "hu": "hun_Latn",
    "hy": "hye_Armn",
    "id": "ind_Latn",
    "it": "ita_Latn",
    "ja": "jpn_Jpan",
    "ka": "kat_Geor",
    "kk": "kaz_Cyrl",
    "ko": "kor_Hang",
    "ky": "kir_Cyrl",
    "mn": "khk_Cyrl",
    "nl": "nld_Latn",
    "pl": "pol_Latn",
    "ps": "pbt_Arab",
    "pt": "por_Latn",
    "ro": "ron_Latn",
    "ru": "rus_Cyrl",
    "sr": "srp_Cyrl",
    "sv": "swe_Latn",
    "tg": "tgk_Cyrl",
    "th": "tha_Thai",
    "tk": "tuk_Latn",
    "tr": "tur_Latn",
    "uk": "ukr_Cyrl",
    "ur": "urd_Arab",
    "uz": "uzn_Latn",
    "vi": "vie_Latn",
    "zh": "zho_Hans",
    "zt": "zho_Hant",
}
_OPUS_NAME = re.compile(r"opus-mt-([a-z]{2,3})-en\b", re.I)
TRIAL_TEXT = "1."  # a trial sentence every tokenizer can encode


class FolderError(ValueError):
    """A model folder that cannot be installed, with the reason."""


@dataclass(frozen=True)
class Manifest:
    """An installed CTranslate2 model: what routing and provenance need, read without loading it.

    languages: each served source language → the token that starts its source (NLLB's FLORES
    code), or None (Marian takes the bare sentence). target_token starts NLLB's output.
    """

    name: str
    kind: str  # "nllb" or "marian"
    version: str
    languages: dict[str, str | None]
    source_spm: str
    target_spm: str
    target_token: str | None
    path: Path

    def size_bytes(self) -> int:
        """Bytes the model folder takes on disk."""
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())


def default_models_dir() -> Path:
    """Beside Argos' packages (ARGOS_PACKAGES_DIR / XDG_DATA_HOME, read by argostranslate)."""
    from argostranslate import settings

    return Path(settings.package_data_dir).parent / "ctranslate2"


def installed(models_dir: Path | None = None) -> list[Manifest]:
    """Installed CTranslate2 models, by name; a folder without a readable manifest is skipped."""
    root = models_dir or default_models_dir()
    found = []
    for manifest in sorted(root.glob(f"*/{MANIFEST}")):
        try:
            found.append(_read_manifest(manifest.parent))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def inspect_folder(
    folder: Path, languages: Sequence[str] = (), name: str | None = None
) -> Manifest:
    """What a converted model folder is and serves, checked without loading it.

    NLLB-style: its vocabulary holds `eng_Latn` and FLORES codes; it serves the languages of
    FLORES whose code is in it (or those asked for). Marian-style: `source.spm` and `target.spm`;
    its one source language comes from `languages` or an `opus-mt-XX-en` name.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FolderError(f"{folder}: no such model folder")
    missing = [f for f in ("model.bin", "config.json") if not (folder / f).is_file()]
    if missing:
        raise FolderError(f"{folder}: not a CTranslate2 model (no {', '.join(missing)})")
    vocabulary = _vocabulary(folder)
    name = name or folder.name
    asked = [code.strip().lower() for code in languages]
    if NLLB_TARGET in vocabulary:
        spm = _one_spm(folder)
        served = {c: t for c, t in FLORES.items() if t in vocabulary}
        unknown = [c for c in asked if c not in served]
        if unknown:
            raise FolderError(f"{folder}: serves no {', '.join(unknown)} (FLORES codes missing)")
        chosen = {c: served[c] for c in asked} if asked else served
        return Manifest(name, "nllb", "", chosen, spm, spm, NLLB_TARGET, folder)
    if (folder / "source.spm").is_file() and (folder / "target.spm").is_file():
        opus = _OPUS_NAME.search(name) or _OPUS_NAME.search(folder.name)
        codes = asked or ([opus.group(1).lower()] if opus else [])
        if not codes:
            raise FolderError(
                f"{folder}: a Marian model does not say its source language: "
                "name it with --languages (e.g. --languages az)"
            )
        return Manifest(
            name, "marian", "", dict.fromkeys(codes), "source.spm", "target.spm", None, folder
        )
    raise FolderError(
        f"{folder}: neither an NLLB model (no {NLLB_TARGET} in its vocabulary) nor a Marian "
        "one (no source.spm and target.spm)"
    )


def install_folder(
    folder: Path,
    languages: Sequence[str] = (),
    name: str | None = None,
    models_dir: Path | None = None,
) -> Manifest:
    """Check a converted model folder, try it, and copy it in (replacing one of that name)."""
    found = inspect_folder(folder, languages, name)
    trial(found)
    version = _file_digest(Path(folder) / "model.bin")
    root = models_dir or default_models_dir()
    root.mkdir(parents=True, exist_ok=True)
    target = root / found.name
    with tempfile.TemporaryDirectory(dir=root, prefix=".installing-") as tmp:
        staged = Path(tmp) / "model"
        shutil.copytree(folder, staged)
        manifest = Manifest(**{**asdict(found), "version": version, "path": target})
        staged.joinpath(MANIFEST).write_text(
            json.dumps({**asdict(manifest), "path": None}, indent=2), encoding="utf-8"
        )
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    return manifest


def trial(manifest: Manifest) -> None:
    """Translate one short sentence per served language in one batch, or raise FolderError."""
    import ctranslate2
    import sentencepiece

    try:
        model = ctranslate2.Translator(str(manifest.path), device="cpu")
        spm = sentencepiece.SentencePieceProcessor(
            model_file=str(manifest.path / manifest.source_spm)
        )
        pieces = spm.encode(TRIAL_TEXT, out_type=str)
        tokens = [[t] if t else [] for t in manifest.languages.values()]
        prefix = [[manifest.target_token]] * len(tokens) if manifest.target_token else None
        results = model.translate_batch(
            [[*t, *pieces, "</s>"] for t in tokens],
            target_prefix=prefix,
            max_decoding_length=16,
            beam_size=1,
        )
    except Exception as exc:  # a broken file shows up here, whatever its kind
        raise FolderError(f"{manifest.path}: the trial translation failed: {exc}") from exc
    if len(results) != len(tokens):
        raise FolderError(f"{manifest.path}: the trial translation returned no result")


def _vocabulary(folder: Path) -> set[str]:
    """Source and target tokens, from the JSON (or older .txt) vocabulary files."""
    for names in (("shared_vocabulary",), ("source_vocabulary", "target_vocabulary")):
        tokens: set[str] = set()
        for stem in names:
            path = next((p for p in _suffixed(folder, stem) if p.is_file()), None)
            if path is None:
                break
            tokens |= _tokens(path)
        else:
            return tokens
    raise FolderError(f"{folder}: no vocabulary (shared_vocabulary.json or source/target)")


def _suffixed(folder: Path, stem: str) -> list[Path]:
    return [folder / f"{stem}.json", folder / f"{stem}.txt"]


def _tokens(path: Path) -> set[str]:
    try:
        text = path.read_text(encoding="utf-8")
        tokens = json.loads(text) if path.suffix == ".json" else text.splitlines()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FolderError(f"{path}: unreadable vocabulary: {exc}") from exc
    if not isinstance(tokens, list) or not tokens:
        raise FolderError(f"{path}: the vocabulary is not a list of tokens")
    return {t for t in tokens if isinstance(t, str)}


def _one_spm(folder: Path) -> str:
    """The SentencePiece model of an NLLB folder (`sentencepiece.bpe.model`, or the only one)."""
    if (folder / "sentencepiece.bpe.model").is_file():
        return "sentencepiece.bpe.model"
    models = sorted(p.name for p in folder.glob("*.model"))
    if len(models) != 1:
        raise FolderError(
            f"{folder}: expected its SentencePiece model (sentencepiece.bpe.model; copy it "
            f"with the conversion's --copy_files), found {models or 'none'}"
        )
    return models[0]


def _file_digest(path: Path) -> str:
    """The model's version where it has none: the first 12 hex digits of model.bin's SHA-256."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()[:12]


def _read_manifest(folder: Path) -> Manifest:
    data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return Manifest(**{**data, "languages": dict(data["languages"]), "path": folder})
