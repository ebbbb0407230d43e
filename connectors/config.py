"""sources.yaml: what to read, and how politely. A source is data, not code."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
KINDS = ("feed", "sitemap", "html_listing", "json_api")


class ConfigError(ValueError):
    """sources.yaml is missing, malformed or names something unknown."""


@dataclass(frozen=True)
class Politeness:
    """How hard we may lean on one site."""

    timeout_seconds: float = 15.0
    retries: int = 2
    backoff_seconds: float = 1.0
    delay_seconds: float = 1.0  # at least this long between two requests to one host
    max_per_host: int = 2  # requests in flight to one host at once
    max_bytes: int = 5_000_000  # after decompression
    deadline_seconds: float = 30.0  # network time of one URL in all: redirects, retries, body


@dataclass(frozen=True)
class Limits:
    """How much one run may ask of a source's listings: hitting a cap is recorded as `capped`."""

    max_urls_per_run: int = 1000  # article links taken from a source's listings per run
    max_sitemaps: int = 50  # sub-sitemaps followed from one sitemap index walk
    max_sitemap_depth: int = 3  # index -> sub-index -> ... levels below the configured sitemap


@dataclass(frozen=True)
class Cleanup:
    """Per-source extraction rules: selectors removed before, paragraph patterns dropped after."""

    drop_selectors: tuple[str, ...] = ()
    drop_patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Revisit:
    """When a URL that was tried is requested again (the frontier's policy).

    Stored articles, aliases and duplicates are not fetched again. Permanent failures (404,
    robots, not an article...) are retried after permanent_days, at most permanent_attempts
    times in all; transient ones (5xx, 429, timeouts, truncated bodies) after each of
    transient_backoff_hours in turn, then given up.
    """

    permanent_days: float = 30.0
    permanent_attempts: int = 2
    transient_backoff_hours: tuple[float, ...] = (2.0, 8.0, 24.0, 72.0)


@dataclass(frozen=True)
class Alerts:
    """When a source's volume counts as collapsed (an alert goes to the operator's webhook)."""

    silent_runs: int = 3  # this many daily runs in a row with no new article
    min_share_of_median: float = 0.25  # fewer new articles than this share of the 14-day median


@dataclass(frozen=True)
class Source:
    """One site (or one edition of it) and the kind of connector that reads it."""

    id: str
    name: str
    kind: str
    base_url: str
    language: str | None = None
    language_by_path: tuple[tuple[str, str], ...] = ()
    politeness: Politeness = field(default_factory=Politeness)
    cleanup: Cleanup = field(default_factory=Cleanup)
    revisit: Revisit = field(default_factory=Revisit)
    limits: Limits = field(default_factory=Limits)
    # Hosts ("name", "name:port") or networks ("10.0.0.0/8") that may be private addresses.
    allow_hosts: tuple[str, ...] = ()
    alerts: Alerts = field(default_factory=Alerts)
    options: Mapping[str, Any] = field(default_factory=dict)

    def url(self, path: str) -> str:
        """Absolute URL of a path on this source (paths in sources.yaml are under base_url)."""
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def owns(self, url: str) -> bool:
        """True when the URL lives under this source's base URL."""
        base = self.base_url.rstrip("/")
        return url == base or url.startswith(base + "/")

    def declared_language(self, url: str) -> str | None:
        """The language the site declares for a URL: its section (/en/, /az/) or the source's."""
        if self.language_by_path and self.owns(url):
            path = "/" + url[len(self.base_url.rstrip("/")) :].lstrip("/")
            for prefix, language in self.language_by_path:
                if path.startswith(prefix):
                    return language
        return self.language


def default_sources_path() -> Path:
    """NEWSFLOW_SOURCES, else ./sources.yaml, else the one shipped at the project root."""
    if env := os.environ.get("NEWSFLOW_SOURCES"):
        return Path(env)
    local = Path.cwd() / "sources.yaml"
    return local if local.exists() else PROJECT_ROOT / "sources.yaml"


def parse_overrides(spec: str | None) -> dict[str, float]:
    """Politeness overrides such as "timeout_seconds=2,retries=1" (NEWSFLOW_POLITENESS)."""
    known = {f.name: type(getattr(Politeness(), f.name)) for f in fields(Politeness)}
    result: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in (spec or "").split(","))):
        key, _, value = item.partition("=")
        if key not in known or not value:
            raise ConfigError(f"bad politeness override {item!r}; known keys: {sorted(known)}")
        try:
            result[key] = known[key](float(value))
        except ValueError as exc:
            raise ConfigError(f"bad politeness override {item!r}: {exc}") from exc
    return result


def load_sources(
    path: Path | None = None,
    base_url_override: str | None = None,
    politeness_overrides: Mapping[str, float] | None = None,
) -> list[Source]:
    """Read sources.yaml; optionally point every source at <override>/<source id>.

    The override (default: env NEWSFLOW_BASE_URL) is how the demo and the tests read the very
    same source entries from the bundled fixture site. Politeness overrides (default: env
    NEWSFLOW_POLITENESS) apply to every source.
    """
    path = path or default_sources_path()
    if base_url_override is None:
        base_url_override = os.environ.get("NEWSFLOW_BASE_URL") or None
    if politeness_overrides is None:
        politeness_overrides = parse_overrides(os.environ.get("NEWSFLOW_POLITENESS"))
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read sources file {path}: {exc}") from exc
    defaults = document.get("defaults") or {}
    sources = [
        _source(entry, defaults, base_url_override, politeness_overrides)
        for entry in document.get("sources") or []
    ]
    ids = [source.id for source in sources]
    if duplicated := {i for i in ids if ids.count(i) > 1}:
        raise ConfigError(f"duplicate source ids in {path}: {sorted(duplicated)}")
    return sources


def select_sources(sources: list[Source], ids: list[str] | None) -> list[Source]:
    """The sources named by id (all when ids is empty), failing clearly on an unknown id."""
    if not ids:
        return sources
    by_id = {source.id: source for source in sources}
    if unknown := [i for i in ids if i not in by_id]:
        raise ConfigError(f"unknown source id(s) {unknown}; known: {sorted(by_id)}")
    return [by_id[i] for i in ids]


def source_for_url(sources: list[Source], url: str) -> Source | None:
    """The source whose base URL holds this URL (longest match), else one on the same host."""
    owners = sorted((s for s in sources if s.owns(url)), key=lambda s: -len(s.base_url))
    if owners:
        return owners[0]
    host = urlsplit(url).hostname
    return next((s for s in sources if urlsplit(s.base_url).hostname == host), None)


def _source(
    entry: Mapping[str, Any],
    defaults: Mapping[str, Any],
    base_url_override: str | None,
    politeness_overrides: Mapping[str, float],
) -> Source:
    try:
        source_id, kind, base_url = entry["id"], entry["kind"], entry["base_url"]
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"source entry {entry!r} lacks id, kind or base_url") from exc
    if kind not in KINDS:
        raise ConfigError(f"source {source_id}: unknown kind {kind!r}; known: {KINDS}")
    if base_url_override:
        base_url = base_url_override.rstrip("/") + "/" + source_id
    politeness = Politeness(
        **{**(defaults.get("politeness") or {}), **(entry.get("politeness") or {})}
    )
    politeness = replace(politeness, **politeness_overrides)
    limits = Limits(**{**(defaults.get("limits") or {}), **(entry.get("limits") or {})})
    allow_hosts = (*(defaults.get("allow_hosts") or ()), *(entry.get("allow_hosts") or ()))
    revisit = {**(defaults.get("revisit") or {}), **(entry.get("revisit") or {})}
    if "transient_backoff_hours" in revisit:
        revisit["transient_backoff_hours"] = tuple(revisit["transient_backoff_hours"])
    cleanup = entry.get("cleanup") or {}
    reserved = {
        "id",
        "name",
        "kind",
        "base_url",
        "language",
        "language_by_path",
        "politeness",
        "revisit",
        "limits",
        "allow_hosts",
        "alerts",
    }
    return Source(
        id=source_id,
        name=entry.get("name", source_id),
        kind=kind,
        base_url=base_url,
        language=entry.get("language"),
        language_by_path=tuple((entry.get("language_by_path") or {}).items()),
        politeness=politeness,
        cleanup=Cleanup(
            drop_selectors=tuple(cleanup.get("drop_selectors") or ()),
            drop_patterns=tuple(cleanup.get("drop_patterns") or ()),
        ),
        limits=limits,
        allow_hosts=tuple(str(host) for host in allow_hosts),
        revisit=Revisit(**revisit),
        alerts=Alerts(**{**(defaults.get("alerts") or {}), **(entry.get("alerts") or {})}),
        options={k: v for k, v in entry.items() if k not in reserved | {"cleanup"}},
    )
