"""`newsflow models list|install` and `newsflow translate`: models, the languages they serve
and use, and re-translation when a better model arrives for a language.

Listing reads manifests and Argos metadata only: neither ctranslate2 nor Prefect is imported
unless a command translates.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from connectors.config import ConfigError, translation_choice
from processing import ct2_models
from processing.models import (
    ARGOS,
    ModelInfo,
    available_models,
    install_from_index,
    install_model_file,
    installed_ct2_models,
    installed_models,
)

BACKLOG_DEPLOYMENT = "translate_backlog/translate_backlog"  # prefect.yaml's


@dataclass(frozen=True)
class Listed:
    """One installed model as `models list` shows it."""

    name: str
    engine: str  # "argos", "ctranslate2/nllb", "ctranslate2/marian"
    version: str
    size_bytes: int
    languages: tuple[str, ...]  # it serves
    in_use: tuple[str, ...]  # routed to it now
    path: Path


def listed_models() -> list[Listed]:
    """Every installed model (Argos and CTranslate2), with the languages that use it now."""
    routes = available_models(_choice())
    used: dict[str, list[str]] = {}
    for code, model in sorted(routes.items()):
        used.setdefault(model.model_id, []).append(code)
    rows = [
        Listed(
            m.name,
            ARGOS,
            m.version,
            m.size_bytes(),
            (m.from_code,),
            tuple(used.get(m.model_id, ())),
            m.path,
        )
        for m in installed_models().values()
    ]
    for manifest in ct2_models.installed():
        model_id = f"{ct2_models.ENGINE}:{manifest.name}@{manifest.version}"
        rows.append(
            Listed(
                manifest.name,
                f"{ct2_models.ENGINE}/{manifest.kind}",
                manifest.version,
                manifest.size_bytes(),
                tuple(sorted(manifest.languages)),
                tuple(used.get(model_id, ())),
                manifest.path,
            )
        )
    return sorted(rows, key=lambda r: (r.engine, r.name))


def list_models() -> int:
    """Print the installed models: name, engine, version, size, languages served and used."""
    rows = listed_models()
    if not rows:
        print("no translation models installed: see `newsflow models install --help`")
        return 0
    print(
        f"{'name':<28}{'engine':<20}{'version':<14}{'size':>11}  "
        f"{'languages':<16}{'in-use':<12}path"
    )
    for r in rows:
        print(
            f"{r.name:<28}{r.engine:<20}{r.version:<14}{r.size_bytes / 1e6:>8.1f} MB  "
            f"{','.join(r.languages):<16}{','.join(r.in_use) or '-':<12}{r.path}"
        )
    return 0


def install_models(args: argparse.Namespace) -> int:
    """Install Argos packages (index, files) and CTranslate2 folders, then offer re-translation."""
    if not args.languages and not args.files and not args.dirs:
        raise ValueError(
            "name languages (newsflow models install ru zh), --file PATH or --dir PATH"
        )
    installed: list[ModelInfo] = [install_model_file(path) for path in args.files]
    if args.languages and not args.dirs:
        installed += install_from_index(args.languages, progress=print)
    for m in installed:
        print(f"installed {m.name} {m.version} at {m.path}")
    served = [m.from_code for m in installed]
    for folder in args.dirs:
        manifest = ct2_models.install_folder(folder, args.languages, args.name)
        size = manifest.size_bytes() / 1e6
        print(
            f"installed {manifest.name} ({ct2_models.ENGINE}/{manifest.kind}, version "
            f"{manifest.version}, {size:.1f} MB) at {manifest.path}: "
            f"serves {', '.join(sorted(manifest.languages))}"
        )
        served += list(manifest.languages)
    return _after_install(sorted(set(served)), args.retranslate)


def _after_install(languages: Sequence[str], run: bool) -> int:
    """Queue the articles that waited for these languages' new models (translated now, here or
    by the translate_backlog deployment), and say what re-translation would redo; with `run`,
    re-translate those languages' articles made by other models too."""
    from warehouse import store
    from warehouse.interface import DuckDBWarehouse

    routes = available_models(_choice())
    for line in _unused(languages, routes):
        print(line)
    now = {code: routes[code].model_id for code in languages if code in routes}
    if not now or (store.backend() is None and not store.db_path().exists()):
        return 0  # no warehouse yet: nothing waits (and none is made here)
    warehouse = DuckDBWarehouse()
    waiting = warehouse.count_pending(sorted(now))
    stale = warehouse.count_retranslatable(now)
    for (language, old), n in stale.items():
        print(f"{language}: {n} articles translated by {old}; {now[language]} translates it now")
    redo = sorted({language for language, _ in stale})
    if redo and not run:
        print(
            f"re-translate them: newsflow translate --retranslate {' '.join(redo)} "
            "(or install with --retranslate)"
        )
    if waiting:
        print(
            f"{waiting} articles in {', '.join(sorted(now))} waited for a model: translating them"
        )
    if not waiting and not (redo and run):
        return 0
    return _queue_backlog(redo if run else [])


def _queue_backlog(retranslate: list[str]) -> int:
    """The backlog's translation: a run of the translate_backlog deployment where a Prefect
    server has it (its worker translates), else at once (a flow run where a server is, or here)."""
    from flows.api import prefect_api, prefect_server

    if api := prefect_server():
        from prefect.deployments import run_deployment
        from prefect.exceptions import ObjectNotFound

        with prefect_api(api):
            try:
                run = run_deployment(
                    BACKLOG_DEPLOYMENT, parameters={"retranslate": retranslate}, timeout=0
                )
            except ObjectNotFound:  # a server without newsflow's deployments
                pass
            else:
                print(f"started {BACKLOG_DEPLOYMENT} run {run.name}: its worker translates them")
                return 0
    return translate(retranslate, batch_size=200)


def _unused(languages: Sequence[str], routes: dict[str, ModelInfo]) -> Iterator[str]:
    """A line per language a new CTranslate2 model serves while another model stays in use."""
    names = installed_ct2_models()
    for code in languages:
        current = routes.get(code)
        for name, served in names.items():
            if code in served and current is not None and current.name != name:
                yield (
                    f"{code}: {current.model_id} stays in use; to use {name}, set "
                    f"`translation: {{{code}: {name}}}` under `defaults:` in sources.yaml"
                )


def translate(retranslate: Sequence[str] | None, batch_size: int) -> int:
    """Translate the backlog (and re-translate these languages) with a progress bar: a
    translate_backlog flow run where a Prefect server is, else in this process."""
    from flows.api import prefect_api, prefect_server, say_where
    from flows.bar import progress_bar

    again = list(retranslate or [])
    say_where("translating", api := prefect_server())
    with progress_bar("translating") as progress:
        if api:
            from flows.translate import reporting_progress, translate_backlog

            with prefect_api(api), reporting_progress(progress):
                counts = translate_backlog(batch_size=batch_size, retranslate=again)
        else:
            from pipeline.here import translate_here
            from warehouse.interface import DuckDBWarehouse

            counts = dict(translate_here(DuckDBWarehouse(), batch_size, again, progress).counts)
    print("articles by translation status:", counts or "none pending with an installed model")
    return 0


def routed_languages() -> list[str]:
    """Every language some installed model translates (what a bare --retranslate means)."""
    return sorted(available_models(_choice()))


def _choice() -> dict[str, str]:
    """sources.yaml's model per language; a broken file leaves every language on Argos."""
    try:
        return translation_choice()
    except (ConfigError, OSError):
        return {}
