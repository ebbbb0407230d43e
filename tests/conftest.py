"""Shared pytest setup."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import httpx
import pytest

# --- Argos Translate: a private, offline model store for the whole session -------------------
# argostranslate reads its environment once, when argostranslate.settings is first imported, so
# this runs in pytest_configure, before any test module can import it.

_ARGOS_HOME: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _ARGOS_HOME
    _ARGOS_HOME = Path(tempfile.mkdtemp(prefix="newsflow-argos-"))
    for var, sub in {
        "XDG_DATA_HOME": "data",
        "XDG_CONFIG_HOME": "config",
        "XDG_CACHE_HOME": "cache",
        "ARGOS_PACKAGES_DIR": "data/argos-translate/packages",
        "STANZA_RESOURCES_DIR": "stanza_resources",
    }.items():
        os.environ[var] = str(_ARGOS_HOME / sub)
    # Pin the choices that could reach the network if a developer's shell sets them otherwise.
    os.environ["ARGOS_MODEL_PROVIDER"] = "OPENNMT"  # LIBRETRANSLATE/OPENAI are web APIs
    os.environ["ARGOS_CHUNK_TYPE"] = "DEFAULT"  # splitter bundled in the package
    os.environ["ARGOS_DEVICE_TYPE"] = "cpu"
    os.environ["ARGOS_PACKAGE_INDEX"] = "http://127.0.0.1:9/"  # never a real index
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"  # offline: no telemetry
    # The tests' workers ask for runs every 2 s, not 10: most end-to-end tests wait for a
    # worker to pick up a run, several times over.
    os.environ["PREFECT_WORKER_QUERY_SECONDS"] = "2"
    # Two test processes load the machine: the test servers' SQLite waits longer for its lock
    # before answering 503 (a request their clients then have to retry)
    os.environ["PREFECT_SERVER_DATABASE_TIMEOUT"] = "30"
    os.environ["PREFECT_SERVER_DATABASE_CONNECTION_TIMEOUT"] = "30"


def pytest_unconfigure(config: pytest.Config) -> None:
    if _ARGOS_HOME is not None:
        shutil.rmtree(_ARGOS_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def argos_home() -> Path:
    """The session's temporary XDG/Argos root."""
    assert _ARGOS_HOME is not None
    return _ARGOS_HOME


@pytest.fixture(scope="session")
def ru_model(tmp_path_factory: pytest.TempPathFactory):
    """The tiny random ru→en package, built and installed once; returns its ModelInfo."""
    from argos_package import build_argos_package

    from processing.models import install_model_file

    return install_model_file(build_argos_package(tmp_path_factory.mktemp("argos-build")))


# --- end Argos Translate ---------------------------------------------------------------------


# --- Local sites, warehouse and Prefect --------------------------------------------------------

FAST_POLITENESS = "timeout_seconds=1.5,retries=1,backoff_seconds=0.1,delay_seconds=0"


@pytest.fixture(scope="session")
def site():
    """The bundled fixture site, served on 127.0.0.1 for the whole session."""
    from fixture_site import FixtureSite

    with FixtureSite() as running:
        yield running


@pytest.fixture(scope="session")
def prefect_api():
    """A real, temporary Prefect API server (with its own database) for flow runs."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="module")
def pointed_at_site(site, tmp_path_factory):
    """sources.yaml pointed at the fixture site, quick timeouts, and a fresh warehouse file:
    settings built here and used for the module, as an entry point builds them."""
    from core.settings import Settings, use

    db = tmp_path_factory.mktemp("warehouse") / "newsflow.duckdb"
    with use(Settings(base_url=site.base_url, politeness=FAST_POLITENESS, db=db)):
        yield site


@pytest.fixture
def model_calls(ru_model, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every list of texts sent to the ru→en model (which still translates them)."""
    from processing.translate import _translator

    translator = _translator(ru_model)
    calls: list[list[str]] = []
    original = translator.translate

    def spy(texts: list[str]) -> list[str]:
        calls.append(list(texts))
        return original(texts)

    monkeypatch.setattr(translator, "translate", spy)
    return calls


def start_deployment(api_url: str, name: str, parameters: dict | None = None) -> tuple[dict, str]:
    """Create a run of a deployment through the REST API, as the UI's Run button does.

    A 503 means the server's SQLite was busy and nothing was created: clients retry it, as
    Prefect's own client does. Returns the deployment and the new run's id.
    """
    deployment = httpx.get(f"{api_url}/deployments/name/{name}").json()
    url = f"{api_url}/deployments/{deployment['id']}/create_flow_run"
    for _ in range(5):
        created = httpx.post(url, json={"parameters": parameters or {}}, timeout=30)
        if created.status_code != 503:
            break
        time.sleep(2)
    created.raise_for_status()
    return deployment, created.json()["id"]


@pytest.fixture
def configure():
    """Settings for one test, as an entry point would build them: configure(db=path, ...) lays
    the changes over the settings in force until the test ends (no environment variables)."""
    from contextlib import ExitStack
    from dataclasses import replace

    from core.settings import current, use

    with ExitStack() as stack:

        def apply(**changes):
            return stack.enter_context(use(replace(current(), **changes)))

        yield apply
