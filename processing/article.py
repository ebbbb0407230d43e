"""The article's language, decided after parsing in the pipeline's order, the page's other
language editions, and when it was published according to which clue."""

from __future__ import annotations

import re
from datetime import datetime, time
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml.etree import ParserError

from connectors.config import Source
from connectors.dates import DateReading, local, parse_timestamp, url_date
from connectors.kinds import SourceKind
from connectors.records import Extracted, PublishedSource
from processing.language import detect_language

_HREFLANG = ("hreflang", "hrefLang", "HREFLANG")  # plain scans: a regex ignoring case is 50x slower
_BODY = re.compile(r"<body[\s>]", re.IGNORECASE)
_JSON_LD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')
# The page stamps extraction reads before any other (processing.extract): meta tags, <time>.
_PAGE_STAMPS = re.compile(
    r"<meta[^>]+(?:published_time|itemprop=[\"']?datePublished|pubdate|publish-date"
    r"|name=[\"']?date[\"'\s])|<time[^>]+datetime",
    re.IGNORECASE,
)


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
        try:
            href = urljoin(address, (link.get("href") or "").strip())
            urlsplit(href).hostname  # noqa: B018 - a malformed host raises here, not later
        except ValueError:
            continue
        if href.startswith(("http://", "https://")):
            found.append((language, href))
    return found


def publication(
    extracted: Extracted, page: str, address: str, listed_at: datetime | None, source: Source
) -> tuple[datetime | None, PublishedSource]:
    """When the article was published, and where that came from; never the fetch time.

    The page's own date first: its meta tags and <time> elements, or its JSON-LD
    datePublished when the page has only that (then with the JSON-LD's time of day, where
    extraction kept only the day); else the date its listing gave the link (feed, sitemap,
    listing); else a date in its URL. A date printed without a zone is in the source's zone,
    a day without a time at noon there (see connectors.dates).
    """
    reading = source.dates
    if (moment := extracted.published_at) is not None:
        # The page-stamp search first: on the pages that have one, the JSON-LD is not read.
        stamp = None if _PAGE_STAMPS.search(page) else _json_ld_date(page, reading)
        if stamp and stamp.date() == moment.date():
            return stamp, PublishedSource.JSON_LD
        if moment.tzinfo is None:  # at 00:00 it is a day without a time (htmldate's dates)
            moment = local(moment, reading, moment.time() == time.min)
        return moment, PublishedSource.PAGE_METADATA
    if listed_at is not None:
        kind = type(source.options) if source.options else SourceKind
        return listed_at, kind.dates_from
    if day := url_date(address, reading):
        return day, PublishedSource.URL
    return None, PublishedSource.NONE


def _json_ld_date(page: str, reading: DateReading) -> datetime | None:
    """The first schema.org datePublished in the page's JSON-LD that reads as a time."""
    for value in _JSON_LD_DATE.findall(page):
        if stamp := parse_timestamp(value, reading):
            return stamp
    return None
