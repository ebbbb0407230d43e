"""Link discovery: the walk every source kind shares, and the listing parsers kinds use.

The kinds themselves (feed, sitemap, ...) live in connectors/kinds/, one class each.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

from lxml import etree
from lxml.cssselect import CSSSelector

from connectors.config import ConfigError, Source
from connectors.dates import DateReading, PageDates, absolute_date
from connectors.http import HttpClient
from connectors.markup import parse_html, without_xml_declaration
from connectors.plausible import checked_date
from connectors.records import FetchAttempt, Link, ListingOutcome, Outcome, Validators
from connectors.urls import MAX_URL_CHARS, RejectedUrl, web_url

_SHORT_TEXT = 40  # characters: a printed date is shorter; a headline or teaser is longer


class MalformedListing(ValueError):
    """A feed, sitemap or API answer that cannot be read as what the source's kind promises.

    A listing that broke off part-way (truncated, an entity bomb) carries what could be read
    before the break in `partial`: those links are kept, and the listing is still `malformed`.
    """

    def __init__(self, message: str, partial: Any = None) -> None:
        super().__init__(message)
        self.partial = partial


@dataclass
class Discovery:
    """Links a source offers now, and every listing request made to find them."""

    links: list[Link] = field(default_factory=list)
    attempts: list[FetchAttempt] = field(default_factory=list)
    left_out: int = 0  # links beyond max_urls_per_run, for a later round or run


@dataclass(frozen=True)
class Walk:
    """One discovery's inputs: where to stop going back in time, and what was seen before."""

    source: Source
    client: HttpClient
    result: Discovery
    stop_before: datetime | None
    validators: Mapping[str, Validators]


async def discover(
    source: Source,
    client: HttpClient,
    stop_before: datetime | None = None,
    validators: Mapping[str, Validators] | None = None,
    skip: Callable[[str], bool] | None = None,
) -> Discovery:
    """Ask a source for its article links; failures are recorded in attempts, never raised.

    Archive walks (JSON paging, sub-sitemaps by lastmod) stop at items older than
    `stop_before`: a backfill's first day, or a daily run's cursor. Listings with validators
    from an earlier run are requested conditionally; an unchanged one yields no links. Links
    for which `skip` is true (taken by an earlier round of a backfill) do not count to the cap.
    """
    if source.options is None:
        raise ConfigError(f"source {source.id}: no settings for kind {source.kind!r}")
    result = Discovery()
    walk = Walk(source, client, result, stop_before, validators or {})
    listed = await source.options.discover(walk)
    unique = await asyncio.to_thread(checked_links, walk, listed)  # 100,000 take seconds
    links = [link for link in unique if skip is None or not skip(link.url)]
    cap = source.limits.max_urls_per_run
    result.links = links[:cap]
    result.left_out = max(0, len(links) - cap)
    if len(links) > cap:
        error = (
            f"{len(links)} links listed, the first {cap} taken (max_urls_per_run); "
            "the rest wait for a later run"
        )
        record_cap(walk, links[cap].url, error)
    return result


def checked_links(walk: Walk, listed: list[Link]) -> list[Link]:
    """The listed links through the boundary, each URL once: the first mention wins, in
    listing order."""
    unique: dict[str, Link] = {}
    for link in filter(None, (checked_link(walk, each) for each in listed)):
        unique.setdefault(link.url, link)
    return list(unique.values())


def checked_link(walk: Walk, link: Link) -> Link | None:
    """A listed link through the boundary (connectors.urls, connectors.plausible): a bad URL is
    recorded as `refused` on its own, an implausible date dropped from the link."""
    url = web_url(link.url)
    if isinstance(url, RejectedUrl):
        now = datetime.now(UTC)
        attempt = FetchAttempt(walk.source.id, url.raw[:MAX_URL_CHARS], Outcome.REFUSED, now)
        walk.result.attempts.append(replace(attempt, error=str(url), kind="listing"))
        return None
    window = walk.source.limits.date_window
    return replace(
        link,
        url=url,
        published_at=checked_date(link.published_at, f"link {url}", window),
        modified_at=checked_date(link.modified_at, f"link {url}", window),
    )


def record_cap(walk: Walk, url: str, error: str) -> None:
    """Record that a cap was hit, on the first URL it left out."""
    attempt = FetchAttempt(
        walk.source.id, url, ListingOutcome.CAPPED, datetime.now(UTC), error=error
    )
    walk.result.attempts.append(replace(attempt, kind="listing"))


def in_window(moment: datetime | None, since: date | None, until: date | None) -> bool:
    """True when a publication time falls within [since, until] (by calendar day, UTC)."""
    if moment is None:
        return True
    day = moment.astimezone(UTC).date() if moment.tzinfo else moment.date()
    return (since is None or day >= since) and (until is None or day <= until)


async def fetch_listing(walk: Walk, url: str, parse: Callable[[str, str], Any]) -> Any | None:
    """Fetch and parse one listing, recording the attempt as listed, malformed or unchanged.

    `parse` gets the body and the listing's own address (where redirects led), against which
    its relative links resolve; it runs in a thread, so a listing of 100,000 items (seconds of
    parsing) does not stall the other sources' fetches. A parser that fails in a way of its own
    ends this listing as `crashed`, not the discovery.
    """
    attempt = await walk.client.fetch(url, walk.source, "listing", walk.validators.get(url))
    parsed = None
    if attempt.ok:
        try:
            base = attempt.final_url or attempt.url
            parsed = await asyncio.to_thread(parse, attempt.text or "", base)
            attempt = replace(attempt, outcome=ListingOutcome.LISTED)
        except MalformedListing as exc:
            parsed = exc.partial
            attempt = replace(attempt, outcome=ListingOutcome.MALFORMED, error=str(exc))
        except Exception as exc:  # one bad listing never costs the source its other pages
            error = f"{type(exc).__name__}: {exc}"
            attempt = replace(attempt, outcome=Outcome.CRASHED, error=error)
    walk.result.attempts.append(attempt)  # with its body: ingest archives it
    return parsed


def xml_root(text: str, base: str | None = None) -> tuple[etree._Element, str | None]:
    """Parse XML leniently, never fetching external entities: (root, first error if any).

    A truncated feed still yields its complete items; callers decide whether what is left is
    usable. `base` is the document's address: elements' `.base` is it, or their xml:base.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
    try:
        data = without_xml_declaration(text).encode("utf-8")
        root = etree.fromstring(data, parser, base_url=base)
    except etree.XMLSyntaxError as exc:
        raise MalformedListing(f"not XML: {exc}") from exc
    if root is None:
        raise MalformedListing("not XML: no root element")
    return root, (f"broken XML: {parser.error_log[0].message}" if parser.error_log else None)


def listed_url(raw: str, base: str | None) -> str:
    """A URL as a listing wrote it, resolved against the listing's address (`base`: the
    document's, or an element's xml:base): feeds and sitemaps list relative links. Only
    resolved here; discover's checked_link passes it through the one boundary parser, which
    refuses what is no web URL with its reason."""
    text = raw.strip(" \t\r\n\f")
    if not base or text.startswith(_ABSOLUTE):  # most links: nothing to resolve
        return text
    try:
        return urljoin(base, text)
    except ValueError:  # "Invalid IPv6 URL": the boundary says so
        return text


_ABSOLUTE = ("http://", "https://")


def local_name(element: etree._Element) -> str:
    """An element's tag without its namespace ("" for comments and processing instructions)."""
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def child_elements(element: etree._Element, name: str) -> Iterator[etree._Element]:
    """The element's children of one local name, whatever their namespace."""
    return (child for child in element if local_name(child) == name)


def child_text(element: etree._Element, *names: str) -> str | None:
    """The stripped text of the first child of these names that has some."""
    for name in names:
        for child in child_elements(element, name):
            if child.text and child.text.strip():
                return child.text.strip()
    return None


def parse_sitemap(
    text: str, reading: DateReading | None = None, base: str | None = None
) -> tuple[list[tuple[str, datetime | None]], list[tuple[str, datetime | None, datetime | None]]]:
    """(sub-sitemaps with lastmod, pages with lastmod and news publication date) of a sitemap.

    Reads a sitemap index, a urlset and a Google News sitemap (<news:publication_date>); a
    relative <loc> resolves against the sitemap's address `base`.
    """
    root, error = xml_root(text, base)
    kind = local_name(root)
    if kind not in ("sitemapindex", "urlset"):
        raise MalformedListing(f"not a sitemap (root element <{kind}>)")
    entries = [entry for entry in root if child_text(entry, "loc")]
    if not entries and error:
        raise MalformedListing(error)
    children: list[tuple[str, datetime | None]] = []
    pages: list[tuple[str, datetime | None, datetime | None]] = []
    dates = PageDates(reading or DateReading())
    if kind == "sitemapindex":
        children = [(_loc(e), dates.timestamp(child_text(e, "lastmod"))) for e in entries]
        entries = []
    for entry in entries:
        news = next(child_elements(entry, "news"), None)
        published = child_text(news, "publication_date") if news is not None else None
        pages.append(
            (
                _loc(entry),
                dates.timestamp(child_text(entry, "lastmod")),
                dates.timestamp(published),
            )
        )
    if error:
        raise MalformedListing(error, partial=(children, pages))
    return children, pages


def _loc(entry: etree._Element) -> str:
    return listed_url(str(child_text(entry, "loc")), entry.base)


def older(moment: datetime | None, limit: datetime | None) -> bool:
    """True when both are known and the moment lies before the limit."""
    if moment is None or limit is None:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment < limit


def json_path(document: Any, path: str) -> Any:
    """The value at a dotted path (data.items) of a JSON document, None where it is missing."""
    for key in filter(None, path.split(".")):
        document = document.get(key) if isinstance(document, dict) else None
    return document


def parse_listing(
    text: str,
    page_url: str,
    item_selector: str,
    link_pattern: str,
    reading: DateReading | None = None,
    now: datetime | None = None,
    date_selector: str | None = None,
) -> list[Link]:
    """Article links of an index or archive page, each dated as its item shows.

    Each element matching item_selector is one item: its first link whose URL matches
    link_pattern, titled by the link's text. Its date is, in this order: a <time datetime>,
    the text of its date_selector element, a date in the URL or the item's text read by hand,
    else the first short text of the item (not the title) that dateparser reads; relative
    forms ("Вчера, 13:39", "5 минут назад") count from `now`, the time the page was fetched.
    A page asks dateparser for at most SLOW_VALUES_PER_PAGE values (connectors.dates).
    """
    dates = PageDates(reading or DateReading(), now)
    try:
        tree = parse_html(text)
    except (etree.ParserError, ValueError) as exc:
        raise MalformedListing(f"not HTML: {exc}") from exc
    pattern, links = re.compile(link_pattern), []
    for item in CSSSelector(item_selector)(tree):
        for anchor in item.iter("a"):
            href = (anchor.get("href") or "").strip()
            url = web_url(href, page_url)  # a bad one is recorded by discover, not raised here
            url = url if isinstance(url, str) else url.raw
            if not pattern.search(url):
                continue
            title = " ".join(anchor.text_content().split()) or None
            published = _item_date(item, url, title, dates, date_selector)
            links.append(Link("", url, title, published))
            break
    return links


def _item_date(
    item: etree._Element, url: str, title: str | None, dates: PageDates, date_selector: str | None
) -> datetime | None:
    """A listing item's date (see parse_listing for the order of the clues)."""
    stamps = item.xpath(".//time/@datetime")
    if stamps and (published := dates.timestamp(stamps[0])):
        return published
    if date_selector:
        shown = _selector(date_selector)(item)
        return dates.printed(shown[0].text_content()) if shown else None
    reading = dates.reading
    if published := absolute_date(url, reading) or absolute_date(item.text_content(), reading):
        return published
    texts = (" ".join(t.split()) for t in item.itertext())
    for candidate in (t for t in texts if t and t != title and len(t) <= _SHORT_TEXT):
        if published := dates.printed(candidate):
            return published
    return None


@lru_cache(maxsize=64)
def _selector(css: str) -> CSSSelector:
    return CSSSelector(css)
