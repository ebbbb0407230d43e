"""The article's language, decided after parsing in the pipeline's order, and when it was
published according to which clue."""

from __future__ import annotations

import re
from datetime import datetime

from connectors.config import Source
from connectors.dates import DateReading, parse_timestamp, url_date
from connectors.kinds import SourceKind
from connectors.records import PublishedSource
from processing.language import detect_language
from processing.records import Extracted

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


def publication(
    extracted: Extracted, page: str, address: str, listed_at: datetime | None, source: Source
) -> tuple[datetime | None, PublishedSource]:
    """When the article was published, and where that came from; never the fetch time.

    The page's own date first: its meta tags and <time> elements, or its JSON-LD
    datePublished when the page has only that (then with the JSON-LD's time of day, where
    extraction kept only the day); else the date its listing gave the link (feed, sitemap,
    listing); else a date in its URL. A date printed without a zone is in the source's zone.
    """
    reading = source.dates
    if (moment := extracted.published_at) is not None:
        stamp = _json_ld_date(page, reading)
        if stamp and stamp.date() == moment.date() and not _PAGE_STAMPS.search(page):
            return stamp, PublishedSource.JSON_LD
        aware = moment if moment.tzinfo else moment.replace(tzinfo=reading.zone)
        return aware, PublishedSource.PAGE_METADATA
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
