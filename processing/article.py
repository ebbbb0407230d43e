"""The article's language, decided after parsing in the pipeline's order, the page's other
language editions, and when it was published according to which clue."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import lxml.html
from htmldate import find_date
from lxml.etree import ParserError

from connectors.config import LANGUAGE_ZONES, Source
from connectors.dates import Clue, DateReading, Kind, Precision
from connectors.kinds import SourceKind
from connectors.records import Extracted, PublishedSource
from connectors.urls import web_url
from processing.language import detect_language
from processing.published import decide, evidence, read

_HREFLANG = ("hreflang", "hrefLang", "HREFLANG")  # plain scans: a regex ignoring case is 50x slower
_BODY = re.compile(r"<body[\s>]", re.IGNORECASE)


def article_language(extracted: Extracted, section_language: str | None = None) -> str:
    """Detect a parsed page's language from its text.

    The declared language (the page's <html lang>, else the site section's) only breaks ties.
    """
    return detect_language(extracted.text, extracted.declared_language or section_language)


def hreflang_alternates(page: str, address: str) -> list[tuple[str, str]]:
    """(language, absolute URL) of the page's <link rel="alternate" hreflang> tags, x-default
    left out: a publisher's editions of the story in other languages.

    Only the head is parsed, and only on pages that mention hreflang at all, so the pages
    without editions (most) cost one search.
    """
    if not any(spelling in page for spelling in _HREFLANG):
        return []
    body = _BODY.search(page)
    try:
        head = lxml.html.document_fromstring(page[: body.start()] if body else page)
    except (ParserError, ValueError):
        return []
    found = []
    for link in head.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        language = (link.get("hreflang") or "").strip().lower()
        if "alternate" not in rel or not language or language == "x-default":
            continue
        href = web_url(link.get("href"), address)
        if isinstance(href, str):
            found.append((language, href))
    return found


@dataclass(frozen=True)
class Published:
    """When an article was published, how precisely, where from, and the evidence (JSON)."""

    moment: datetime | None
    source: PublishedSource
    precision: Precision | None = None
    evidence: str | None = None


def publication(
    extracted: Extracted,
    page: str,
    address: str,
    listed_at: datetime | None,
    source: Source,
    now: datetime | None = None,
) -> Published:
    """When the article was published, and where that came from; never the fetch time.

    The page's own clues ranked as evidence (processing.published: a per-site parser's date,
    JSON-LD, meta tags, <time> in the article, the byline, the URL's day), the listing's date
    (feed, sitemap, listing) one more witness at the weight of a meta tag; where nothing dated
    the page, htmldate's extensive search with the URL. A date printed without a zone is in the
    source's zone; a day without a time has day precision (see connectors.dates).
    """
    reading = _page_reading(source.dates, extracted.declared_language)
    clues = list(extracted.date_clues)
    if extracted.published_at is not None:
        clues.insert(0, Clue(Kind.PARSER, "site parser", extracted.published_at.isoformat(), 12.0))
    if listed_at is not None:
        clues.append(Clue(Kind.LISTING, "listing", listed_at.isoformat(), 9.0))
    window = source.limits.date_window
    candidates = read(clues, reading, now, window)
    if not any(c.clue.weight >= _STRONG for c in candidates) and (
        found := _htmldate(page, address)
    ):
        htmldate = Clue(Kind.HTMLDATE, "htmldate extensive", found, 4.0)
        candidates += read([htmldate], reading, now, window)
    decided = decide(candidates)
    if decided.moment is None or decided.winner is None:
        return Published(None, PublishedSource.NONE)
    kind = decided.winner.clue.kind
    if kind == Kind.LISTING:
        origin = (type(source.options) if source.options else SourceKind).dates_from
    else:
        origin = _ORIGIN[kind]
    return Published(decided.moment, origin, decided.precision, evidence(decided))


_STRONG = 5.0  # a clue this strong (a URL day or better) makes htmldate's search unneeded


def _page_reading(reading: DateReading, declared: str | None) -> DateReading:
    """The source's way of reading dates; for a source that states no languages (a saved file),
    the page's declared language's: its numeric order and its main zone."""
    if reading.languages or not declared:
        return reading
    zone = LANGUAGE_ZONES.get(declared, reading.timezone) if reading.timezone == "UTC" else None
    return DateReading(zone or reading.timezone, reading.date_order, (declared, "en"))


_ORIGIN = {
    Kind.PARSER: PublishedSource.PAGE_METADATA,
    Kind.JSON_LD: PublishedSource.JSON_LD,
    Kind.META: PublishedSource.PAGE_METADATA,
    Kind.ITEMPROP: PublishedSource.PAGE_METADATA,
    Kind.TIME: PublishedSource.PAGE_METADATA,
    Kind.PRINTED: PublishedSource.PAGE_TEXT,
    Kind.URL: PublishedSource.URL,
    Kind.HTMLDATE: PublishedSource.PAGE_TEXT,
}


def _htmldate(page: str, address: str) -> str | None:
    """htmldate's day for a page with no date of its own: its extensive search, with the URL.
    One bad page costs its date, never the page."""
    try:
        return find_date(page, url=address, extensive_search=True, original_date=True)
    except Exception:  # noqa: BLE001 - htmldate on untrusted markup
        return None
