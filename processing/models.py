"""Translation models to English: what is installed, which one each language uses, installing.

Argos Translate packages are installed from files or the index; CTranslate2 models (NLLB-200,
Marian/OPUS-MT) from converted folders (processing.ct2_models). Each language uses the model
named for it in sources.yaml (`defaults: translation:`), else its Argos package, else an
installed CTranslate2 model that serves it.

Only `argostranslate.package` (~50 ms) is imported here, never `argostranslate.translate` (~4 s).
Models live where Argos' settings say (ARGOS_PACKAGES_DIR, XDG_DATA_HOME), read when
`argostranslate.settings` is first imported; the index is ARGOS_PACKAGE_INDEX.
"""

from __future__ import annotations

import json
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processing import ct2_models
from processing.language import normalize_code

TARGET = "en"
ARGOS = "argos"
INDEX_TIMEOUT_SECONDS = 10.0
DOWNLOAD_TIMEOUT_SECONDS = 120.0


class ModelInstallError(Exception):
    """A model could not be installed (bad file, index unreachable, no such pair)."""


@dataclass(frozen=True)
class ModelInfo:
    """An installed X→en model as one language uses it, recorded with each translation.

    engine: "argos" (a package) or "ctranslate2" (a converted folder of kind "nllb" or
    "marian"); source_token and target_token are NLLB's language codes, else None.
    """

    from_code: str
    to_code: str
    name: str
    version: str
    path: Path
    engine: str = ARGOS
    kind: str = ARGOS
    source_token: str | None = None
    target_token: str | None = None

    @property
    def model_id(self) -> str:
        """Provenance stored with translations: engine, name and version ("argos:ru-en@1.9")."""
        return f"{self.engine}:{self.name}@{self.version}"

    @property
    def cache_name(self) -> str:
        """The cache's model name: NLLB's English depends on the source language's token too."""
        return f"{self.name}:{self.source_token}" if self.source_token else self.name

    def size_bytes(self) -> int:
        """Bytes the package takes on disk."""
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())


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


def installed_ct2_models(models_dir: Path | None = None) -> dict[str, dict[str, ModelInfo]]:
    """Installed CTranslate2 models by name, each as the languages it serves use it."""
    return {
        m.name: {
            code: ModelInfo(
                code,
                TARGET,
                m.name,
                m.version,
                m.path,
                ct2_models.ENGINE,
                m.kind,
                token,
                m.target_token,
            )
            for code, token in m.languages.items()
        }
        for m in ct2_models.installed(models_dir)
    }


def available_models(
    choice: Mapping[str, str] | None = None, models_dir: Path | None = None
) -> dict[str, ModelInfo]:
    """The model each language uses: the one chosen for it if installed, else its Argos
    package, else the first installed CTranslate2 model (by name) that serves it.

    choice: language → model name ("argos" for the Argos package), sources.yaml's
    `defaults: translation:`; a chosen model that is not installed falls back as above.
    """
    routes = installed_models()
    others = installed_ct2_models(models_dir)
    for served in others.values():
        for code, model in served.items():
            routes.setdefault(code, model)
    for language, name in (choice or {}).items():
        code = normalize_code(language.strip().lower()) or language.strip().lower()
        if name in others and code in others[name]:
            routes[code] = others[name][code]
    return routes


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
    forget_loaded_models()
    return _model_info(installed)


def install_from_index(
    codes: Sequence[str], progress: Callable[[str], None] | None = None
) -> list[ModelInfo]:
    """Download and install the X→en package of each language from Argos' package index.

    The index is fetched with a short timeout, so an offline machine fails at once with a
    message naming the file alternative rather than hanging in Argos' own retries.
    """
    from argostranslate import settings

    available = {
        (p["from_code"], p["to_code"]): p
        for p in _fetch_index(settings.remote_package_index)
        if p.get("type", "translate") == "translate"
    }
    wanted = [code.strip().lower() for code in codes]
    missing = [code for code in wanted if (code, TARGET) not in available]
    if missing:
        raise ModelInstallError(
            f"the Argos package index has no model to English for: {', '.join(missing)}"
        )
    installed = []
    with tempfile.TemporaryDirectory(prefix="newsflow-models-") as tmp:
        for code in wanted:
            meta = available[(code, TARGET)]
            if progress:
                progress(f"downloading {code}-{TARGET} {meta.get('package_version', '')}")
            path = Path(tmp) / f"translate-{code}_{TARGET}.argosmodel"
            _download(meta.get("links") or [], path)
            installed.append(install_model_file(path))
    return installed


def forget_loaded_models() -> None:
    """Drop argostranslate's caches of installed packages (its install does not, see notes).

    newsflow's own loaded translators are keyed by package path and version, so a new install
    is a new key and needs no clearing here (and processing.models never imports translate).
    """
    argos = sys.modules.get("argostranslate.translate")
    if argos is not None:  # never import it only to clear it: that costs ~4 s
        argos.installed_translates.clear()
        argos.get_installed_languages.cache_clear()


def _fetch_index(url: str) -> list[dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=INDEX_TIMEOUT_SECONDS) as response:
            index = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise ModelInstallError(
            f"cannot read the Argos package index at {url} ({exc}); without internet, copy the "
            "model files over and run `newsflow models install --file PATH.argosmodel`"
        ) from exc
    if not isinstance(index, list):
        raise ModelInstallError(f"the Argos package index at {url} is not a list of packages")
    return [p for p in index if isinstance(p, dict) and p.get("from_code") and p.get("to_code")]


def _download(links: list[str], dest: Path) -> None:
    """Fetch the first link that answers; fail with every link's reason."""
    reasons = []
    for link in links:
        try:
            with urllib.request.urlopen(link, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
                dest.write_bytes(response.read())
            return
        except OSError as exc:
            reasons.append(f"{link}: {exc}")
    raise ModelInstallError(f"could not download {dest.name}: {'; '.join(reasons) or 'no link'}")


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
            if zf.testzip() is not None:
                raise ModelInstallError(f"{path}: corrupt Argos model (a member fails its CRC)")
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
