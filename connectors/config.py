"""sources.yaml: what to read, and how politely. A source is data, not code.

The file is checked against a schema when it is loaded (one pydantic model per source kind,
unknown keys refused, types checked), so a typo fails at once with the file, the source and
the field named, never later inside a run. `newsflow sources schema` prints that schema.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator
from pydantic.dataclasses import dataclass as settings

from connectors.dates import DateOrder, DateReading
from connectors.kinds import SourceKind, kind_class, kinds
from connectors.page_parser import PageParser, load_parser
from connectors.plausible import EARLIEST, FUTURE_DAYS, DateWindow
from connectors.sources_file import PROJECT_ROOT as PROJECT_ROOT
from connectors.sources_file import (
    ConfigError,
    capped,
    default_sources_path,
    read_yaml,
)
from core.settings import current as current_settings

MAX_ERRORS_SHOWN = 10

_STRICT = ConfigDict(extra="forbid", use_attribute_docstrings=True)  # docstrings: schema help


@settings(frozen=True, config=_STRICT)
class Politeness:
    """How hard we may lean on one site."""

    timeout_seconds: float = Field(15.0, gt=0)
    retries: int = Field(2, ge=0)
    backoff_seconds: float = Field(1.0, ge=0)
    delay_seconds: float = Field(1.0, ge=0)
    """Seconds at least between the starts of two requests to one host."""
    max_per_host: int = Field(2, ge=1)
    """Requests in flight to one host at once."""
    max_bytes: int = Field(5_000_000, gt=0)
    """Largest response body, after decompression."""
    deadline_seconds: float = Field(30.0, gt=0)
    """Network time of one URL in all: redirects, retries and body."""


@settings(frozen=True, config=_STRICT)
class Limits:
    """How much one run may ask of a source's listings: hitting a cap is recorded as `capped`."""

    max_urls_per_run: int = Field(1000, ge=1)
    """Article links taken from a source's listings per run."""
    max_sitemaps: int = Field(50, ge=0)
    """Sub-sitemaps followed from one sitemap index walk."""
    max_sitemap_depth: int = Field(3, ge=0)
    """Levels of nested sitemap indexes followed below the configured one."""
    earliest_date: date = EARLIEST
    """Dates from the web (feeds, sitemaps, listings, pages) before this day are dropped."""
    future_days: float = Field(FUTURE_DAYS, ge=0)
    """Dates from the web more than this many days after now are dropped."""
    max_page_elements: int = Field(50_000, ge=1)
    """HTML elements of one page at most: a bigger page ends `too_costly`, not parsed."""
    page_cpu_seconds: float = Field(10.0, gt=0)
    """CPU seconds to parse and extract one page (in a page worker or in-process); over it:
    `too_costly`."""
    page_memory_mb: int = Field(1024, ge=64)
    """Memory one page worker may add for a page; over it: `too_costly`."""

    @property
    def date_window(self) -> DateWindow:
        """The window dates from the web must fall in (connectors.plausible)."""
        return DateWindow(self.earliest_date, self.future_days)


@settings(frozen=True, config=_STRICT)
class Cleanup:
    """Per-source extraction rules: selectors removed before, paragraph patterns dropped after."""

    drop_selectors: tuple[str, ...] = ()
    drop_patterns: tuple[str, ...] = ()

    @field_validator("drop_patterns")
    @classmethod
    def _compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from exc
        return patterns


@settings(frozen=True, config=_STRICT)
class Revisit:
    """When a URL that was tried is requested again (the frontier's policy).

    Aliases and duplicates are not fetched again, nor are stored articles once their
    publication is more than recheck_days old: until then they are re-checked with a
    conditional GET, so their edits are kept (article_revisions). Permanent failures (404,
    robots, not an article...) are retried after permanent_days, at most permanent_attempts
    times in all; transient ones (5xx, 429, timeouts, truncated bodies) after each of
    transient_backoff_hours in turn, then given up.
    """

    permanent_days: float = Field(30.0, ge=0)
    permanent_attempts: int = Field(2, ge=0)
    transient_backoff_hours: tuple[float, ...] = (2.0, 8.0, 24.0, 72.0)
    recheck_days: float = Field(2.0, ge=0)
    """Stored articles published this many days ago or less are re-checked for edits; 0: never."""
    recheck_every_hours: float = Field(12.0, ge=0)
    """Hours at least between two re-checks of one article (a daily run re-checks once)."""


@settings(frozen=True, config=_STRICT)
class Alerts:
    """When a source's volume counts as collapsed (an alert goes to the operator's webhook)."""

    silent_days: int = Field(3, ge=1)
    """Alert after this many days of daily runs in a row with no new article."""
    min_share_of_median: float = Field(0.25, ge=0)
    """Alert when a day's new articles fall under this share of the same weekday's median."""


@settings(frozen=True, config=_STRICT)
class PageJson:
    """Where a JavaScript shell keeps its article (`page_json:`): dotted paths in its JSON.

    With a script selector the JSON is read from that <script> of an HTML page; without one
    the page is itself a JSON answer (an API that serves one article).
    """

    title: str
    content: str
    """HTML, or plain text with one paragraph per line."""
    script: str | None = None
    """CSS selector of the <script> element holding the JSON."""
    time: str | None = None
    """Epoch seconds or ISO 8601."""
    author: str | None = None
    urlencoded: bool = False
    """The JSON is percent-encoded (Toutiao's RENDER_DATA)."""


@dataclass(frozen=True)
class Source:
    """One site (or one edition of it) and the kind of connector that reads it.

    options holds the kind's typed settings (a mapping given here is checked against the
    kind's model); None for a source that is only read, never discovered (`newsflow extract`).
    parser is a per-site page parser class (connectors.page_parser); None means the default one
    (see processing.parsers).
    dates: the time zone, numeric date order and languages its feeds, listings and pages use.
    """

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
    options: SourceKind | None = None
    page_json: PageJson | None = None
    parser: type[PageParser] | None = None
    dates: DateReading = DateReading()
    translation: tuple[tuple[str, str], ...] = ()  # defaults' model per language

    def __post_init__(self) -> None:
        if isinstance(self.options, Mapping):
            try:
                options = kind_class(self.kind).model_validate(dict(self.options))
            except KeyError as exc:
                raise ConfigError(f"source {self.id}: {exc.args[0]}") from exc
            except ValidationError as exc:
                problems = (f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise ConfigError(f"source {self.id}: {'; '.join(problems)}") from exc
            object.__setattr__(self, "options", options)
        if self.page_json is None and self.options is not None:
            object.__setattr__(self, "page_json", self.options.article_json)

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


def parse_overrides(spec: str | None) -> dict[str, float]:
    """Politeness overrides such as "timeout_seconds=2,retries=1" (the settings' politeness)."""
    known = {f.name: type(getattr(Politeness(), f.name)) for f in fields(Politeness)}
    result: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in (spec or "").split(","))):
        key, _, value = item.partition("=")
        if key not in known or not value:
            raise ConfigError(f"bad politeness override {item!r}; known keys: {sorted(known)}")
        try:
            result[key] = known[key](float(value))
            Politeness(**{key: result[key]})
        except ValueError as exc:  # pydantic's ValidationError is one
            problem = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else exc
            raise ConfigError(f"bad politeness override {item!r}: {problem}") from exc
    return result


class _Strict(BaseModel):
    model_config = _STRICT


class Defaults(_Strict):
    """`defaults:` of sources.yaml: settings every source starts from."""

    politeness: Politeness = Politeness()
    limits: Limits = Limits()
    revisit: Revisit = Revisit()
    alerts: Alerts = Alerts()
    allow_hosts: tuple[str, ...] = ()
    # language → model name (`newsflow models list`), e.g. {az: nllb-200-distilled-600M};
    # "argos" or a language not named: its Argos package (see processing.models.available_models)
    translation: dict[str, str] = {}


class SourceSettings(_Strict):
    """The keys every source entry takes, whatever its kind; per-source settings override
    `defaults:` key by key."""

    id: str
    name: str | None = None
    base_url: str
    language: str | None = None
    language_by_path: dict[str, str] = {}
    """URL path prefix -> language, first match wins."""
    politeness: Politeness = Politeness()
    limits: Limits = Limits()
    revisit: Revisit = Revisit()
    alerts: Alerts = Alerts()
    allow_hosts: tuple[str, ...] = ()
    cleanup: Cleanup = Cleanup()
    page_json: PageJson | None = None
    parser: str | None = None
    """module:Class of a per-site PageParser, imported when the file is loaded."""
    timezone: str = "UTC"
    """IANA time zone (Europe/Moscow) of dates the site prints without one."""
    date_order: DateOrder | None = None
    """Order of numeric dates (DMY: 04.10.2025 is 4 October); default: the language's custom."""
    languages: tuple[str, ...] = ()
    """Languages of printed dates (ru, az, zh...); default: language, language_by_path and en."""

    @field_validator("id")
    @classmethod
    def _plain_id(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
            raise ValueError("use letters, digits, '-', '_' and '.' (it goes into URLs and SQL)")
        return value

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^/?#\s]+(/\S*)?", value):
            raise ValueError("should be an http:// or https:// URL")
        return value

    @field_validator("language_by_path")
    @classmethod
    def _paths(cls, sections: dict[str, str]) -> dict[str, str]:
        if wrong := [prefix for prefix in sections if not prefix.startswith("/")]:
            raise ValueError(f"path prefixes start with '/': {', '.join(wrong)}")
        return sections

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r}") from exc
        return name

    @field_validator("languages")
    @classmethod
    def _date_languages(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        if codes:  # dateparser is imported only for a file that names languages
            from dateparser.data.languages_info import language_order

            if unknown := ", ".join(repr(c) for c in codes if c not in language_order):
                raise ValueError(f"no dates known in {unknown} (use ru, az...)")
        return codes

    @field_validator("parser")
    @classmethod
    def _importable(cls, spec: str | None) -> str | None:
        if spec is not None:
            load_parser(spec)
        return spec


@lru_cache
def _entry_model(kind: type[SourceKind]) -> type[BaseModel]:
    """The model of a source entry of one kind: the common keys and the kind's own."""
    return create_model(
        f"{kind.__name__}Source",
        __base__=(SourceSettings, kind),
        __doc__=kind.__doc__,
        kind=(Literal[kind.name], ...),  # type: ignore[valid-type]
    )


def sources_file_model() -> type[BaseModel]:
    """The model of the whole sources.yaml, for every kind registered now."""
    return _file_model(tuple(kinds().values()))


@lru_cache
def _file_model(registered: tuple[type[SourceKind], ...]) -> type[BaseModel]:
    entries = tuple(_entry_model(kind) for kind in registered)
    entry = Annotated[Union[entries], Field(discriminator="kind")]  # noqa: UP007
    return create_model(
        "SourcesFile",
        __base__=_Strict,
        __doc__="newsflow's sources.yaml: defaults, and the sources to read.",
        defaults=(Defaults, Defaults()),
        sources=(list[entry], ...),  # type: ignore[valid-type]
    )


def sources_schema() -> dict[str, Any]:
    """The JSON Schema of sources.yaml (`newsflow sources schema`), for editors."""
    schema = sources_file_model().model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def check_sources(document: Any, path: Path) -> None:
    """Check the file's data against the schema; ConfigError listing each problem."""
    if not isinstance(document, dict):
        raise ConfigError(f"{path.name}: should be a mapping with a `sources:` list")
    try:
        sources_file_model().model_validate(document)
    except ValidationError as exc:
        problems = [_problem(error, document) for error in exc.errors(include_url=False)]
        more = len(problems) - MAX_ERRORS_SHOWN
        lines = [f"{path.name}: {p}" for p in problems[:MAX_ERRORS_SHOWN]]
        lines += [f"... and {more} more problems"] if more > 0 else []
        raise ConfigError("\n".join(lines)) from None


def _problem(error: Any, document: dict[str, Any]) -> str:
    """One validation error as `source <id>: <field>: <what is wrong>`."""
    loc, kind = tuple(error["loc"]), error["type"]
    model: Any = sources_file_model()
    where = ""
    if loc[:1] == ("defaults",):
        where, model, loc = "defaults: ", Defaults, loc[1:]
    elif loc[:1] == ("sources",) and len(loc) > 1 and isinstance(loc[1], int):
        entry = (document.get("sources") or [])[loc[1]]
        known = isinstance(entry, dict) and entry.get("id")
        where = f"source {entry['id'] if known else '#' + str(loc[1] + 1)}: "
        loc = loc[2:]
        if loc and isinstance(entry, dict) and loc[0] == entry.get("kind"):
            model, loc = _entry_model(kind_class(str(loc[0]))), loc[1:]
    name = ".".join(str(part) for part in loc)
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        hint = _guess(str(loc[-1]), _fields_at(model, loc[:-1]))
        return capped(f"{where}{name}: unknown field{f' (did you mean {hint}?)' if hint else ''}")
    if kind == "missing":
        return capped(f"{where}{name}: required field missing")
    if kind == "union_tag_invalid":
        return capped(
            f"{where}kind: unknown kind {error['input'].get('kind')!r}; known: {', '.join(kinds())}"
        )
    if kind == "union_tag_not_found":
        return capped(f"{where}kind: required field missing; known kinds: {', '.join(kinds())}")
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind in ("model_type", "dataclass_type", "dict_type", "model_attributes_type"):
        message = "should be a mapping"
    got = repr(error.get("input"))
    got = got if len(got) <= 60 else got[:57] + "..."
    prefix = f"{name}: " if name else ""
    return capped(f"{where}{prefix}{message} (got {got})")


def _guess(name: str, known: list[str]) -> str | None:
    """The known field a misspelt or shortened name most likely meant."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    return close[0] if close else next((k for k in known if k.startswith(name)), None)


def _fields_at(model: Any, path: tuple[Any, ...]) -> list[str]:
    """The field names of the settings found at a path below a model (for did-you-mean)."""
    for key in (*path, None):
        while get_origin(model) in (Union, UnionType, Annotated, list, tuple, dict):
            args = [a for a in get_args(model) if a is not type(None) and a is not Ellipsis]
            model = args[-1] if get_origin(model) is dict else args[0]
        known = getattr(model, "__pydantic_fields__", {})
        if key is None:
            return list(known)
        if isinstance(key, int):
            continue
        if key not in known:
            return []
        model = known[key].annotation
    return []


def load_sources(
    path: Path | None = None,
    base_url_override: str | None = None,
    politeness_overrides: Mapping[str, float] | None = None,
) -> list[Source]:
    """Read and check sources.yaml; optionally point every source at <override>/<source id>.

    The override (default: the settings' base_url) is how the demo and the tests read the very
    same source entries from the bundled fixture site. Politeness overrides (default: the
    settings' politeness) apply to every source. Defaults come from core.settings.current().
    """
    configured = current_settings()
    path = Path(path or default_sources_path(configured.sources_file))
    if base_url_override is None:
        base_url_override = configured.base_url
    if politeness_overrides is None:
        politeness_overrides = parse_overrides(configured.politeness)
    document = read_yaml(path)
    check_sources(document, path)
    defaults = document.get("defaults") or {}
    sources = [
        _source(entry, defaults, base_url_override, politeness_overrides)
        for entry in document["sources"]
    ]
    ids = [source.id for source in sources]
    if duplicated := sorted({i for i in ids if ids.count(i) > 1}):
        raise ConfigError(f"{path.name}: duplicate source ids: {', '.join(duplicated)}")
    return sources


def translation_choice(path: Path | None = None) -> dict[str, str]:
    """The translation model chosen per language in sources.yaml's `defaults: translation:`
    (the file the settings name, core.settings.current(), unless one is given)."""
    path = Path(path or default_sources_path(current_settings().sources_file))
    document = read_yaml(path)
    check_sources(document, path)
    return translation_choice_of(document.get("defaults") or {})


def translation_choice_of(defaults: Mapping[str, Any]) -> dict[str, str]:
    """`translation:` of a checked `defaults:` mapping, language codes lower-cased."""
    chosen = defaults.get("translation") or {}
    return {str(language).strip().lower(): str(name) for language, name in chosen.items()}


def _source(
    entry: Mapping[str, Any],
    defaults: Mapping[str, Any],
    base_url_override: str | None,
    politeness_overrides: Mapping[str, float],
) -> Source:
    """A checked entry as a Source: its settings laid over the defaults, key by key."""

    def merged(name: str) -> dict[str, Any]:
        return {**(defaults.get(name) or {}), **(entry.get(name) or {})}

    source_id, kind = entry["id"], kind_class(entry["kind"])
    base_url = entry["base_url"]
    if base_url_override:
        base_url = base_url_override.rstrip("/") + "/" + source_id
    common = set(SourceSettings.model_fields) | {"kind"}
    return Source(
        id=source_id,
        name=entry.get("name") or source_id,
        kind=kind.name,
        base_url=base_url,
        language=entry.get("language"),
        language_by_path=tuple((entry.get("language_by_path") or {}).items()),
        politeness=Politeness(**{**merged("politeness"), **politeness_overrides}),
        cleanup=Cleanup(**(entry.get("cleanup") or {})),
        limits=Limits(**merged("limits")),
        revisit=Revisit(**merged("revisit")),
        alerts=Alerts(**merged("alerts")),
        allow_hosts=(*(defaults.get("allow_hosts") or ()), *(entry.get("allow_hosts") or ())),
        options=kind.model_validate({k: v for k, v in entry.items() if k not in common}),
        page_json=PageJson(**entry["page_json"]) if entry.get("page_json") else None,
        parser=load_parser(entry["parser"]) if entry.get("parser") else None,
        dates=_date_reading(entry),
        translation=tuple(translation_choice_of(defaults).items()),
    )


def _date_reading(entry: Mapping[str, Any]) -> DateReading:
    """How a source's dates read; its languages default to those it declares, and English; its
    zone to its language's main one (a day of an instant is taken there), else UTC."""
    declared = [entry.get("language"), *(entry.get("language_by_path") or {}).values(), "en"]
    languages = entry.get("languages") or dict.fromkeys(filter(None, declared))
    order = entry.get("date_order")
    zone = entry.get("timezone") or LANGUAGE_ZONES.get(entry.get("language") or "", "UTC")
    return DateReading(zone, DateOrder(order) if order else None, tuple(languages))


# The zone a source's printed dates are in when it names none: its language's main one, where a
# language has one (English, Spanish or Arabic span too many zones: UTC).
LANGUAGE_ZONES = {
    "ru": "Europe/Moscow", "az": "Asia/Baku", "zh": "Asia/Shanghai", "ja": "Asia/Tokyo",
    "ko": "Asia/Seoul", "tr": "Europe/Istanbul", "uk": "Europe/Kyiv", "ka": "Asia/Tbilisi",
    "hy": "Asia/Yerevan", "kk": "Asia/Almaty", "uz": "Asia/Tashkent", "fa": "Asia/Tehran",
    "de": "Europe/Berlin", "fr": "Europe/Paris", "it": "Europe/Rome", "pl": "Europe/Warsaw",
    "cs": "Europe/Prague", "nl": "Europe/Amsterdam", "el": "Europe/Athens", "he": "Asia/Jerusalem",
    "hi": "Asia/Kolkata", "id": "Asia/Jakarta", "vi": "Asia/Ho_Chi_Minh", "th": "Asia/Bangkok",
}  # fmt: skip


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
