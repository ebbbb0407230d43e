"""The one page -> article path, used alike by ingest, reprocess and `newsflow extract`.

A fetched (or archived, or saved) page goes through the same steps everywhere: the source's
page parser (processing.parsers: trafilatura with the source's cleanup, the embedded-JSON one
for JS shells, or a per-site class) and its content types, language detection, and the
article's identity (a canonical URL trusted only on the page's own site). Pure: no I/O, so it
runs in a process pool and on archived bodies without the network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from connectors.addresses import AddressRefused
from connectors.config import Source
from connectors.plausible import checked_date
from connectors.politeness import site_key
from connectors.records import Charset, Extracted, Link, Outcome, PublishedSource
from connectors.sanitize import (
    MAX_AUTHOR_CHARS,
    MAX_TITLE_CHARS,
    parseable,
    stored_field,
    terminal_safe,
)
from processing.article import Published, article_language, hreflang_alternates, publication
from processing.dedup import canonical_url, content_hash
from processing.extract import ExtractionError, enough_text
from processing.parsers import parser_for
from processing.records import Article, Edition

OVER_MEMORY = "over the page worker's memory budget (page_memory_mb)"
log = logging.getLogger("newsflow.untrusted")


@dataclass(frozen=True)
class PageResult:
    """What one page became: an article, or the outcome and reason there is none."""

    outcome: Outcome  # OK (article set), NOT_HTML, NO_CONTENT, TOO_COSTLY or CRASHED
    article: Article | None = None
    error: str | None = None


def process_page(
    source: Source,
    url: str,
    body: str,
    content_type: str | None,
    fetched_at: datetime,
    final_url: str | None = None,
    listed_at: datetime | None = None,
    charset: Charset | None = None,
    listed: Link | None = None,
) -> PageResult:
    """Turn one page body into an Article; every failure is a result, never an exception.

    url is the URL the page was asked for, final_url where redirects ended (the page's address).
    listed_at is the publication time its listing gave the link, for a page that has none;
    charset how the fetch decoded the body (both recorded on the article, see Article).
    listed is the link as its listing gave it: where the page yields no article, a feed item's
    description stands for its text (text_source "feed_description"), with the item's title.
    """
    if too_costly := _over_budget(body, source):
        return PageResult(Outcome.TOO_COSTLY, error=too_costly)
    try:
        return _article(
            source, url, body, content_type, fetched_at, final_url, listed_at, charset, listed
        )
    except ExtractionError as exc:
        return PageResult(Outcome.NO_CONTENT, error=str(exc))
    except MemoryError:
        return PageResult(Outcome.TOO_COSTLY, error=OVER_MEMORY)
    except Exception as exc:  # one odd page must never cost its source the other pages
        return PageResult(Outcome.CRASHED, error=f"{type(exc).__name__}: {exc}"[:500])


def _article(
    source: Source,
    url: str,
    body: str,
    content_type: str | None,
    fetched_at: datetime,
    final_url: str | None,
    listed_at: datetime | None,
    charset: Charset | None,
    listed: Link | None,
) -> PageResult:
    """process_page's work, which may raise: each step's failure ends the page alone."""
    parser = parser_for(source)
    if content_type and content_type not in parser.content_types:
        return PageResult(Outcome.NOT_HTML, error=f"content type {content_type}")
    address = final_url or url
    body = parseable(body)  # a stray U+0008 or &#27; costs the character, not the page
    extracted, text_source = _parsed_or_listed(parser.parse, body, address, source, listed)
    text = terminal_safe(extracted.text)
    language = article_language(extracted, source.declared_language(address))
    published = _publication(extracted, body, address, listed_at, source, fetched_at)
    identity, untrusted = article_identity(source, address, extracted)
    return PageResult(
        Outcome.OK,
        Article(
            source_id=source.id,
            url=identity,
            title=stored_field(extracted.title, MAX_TITLE_CHARS),
            text=text,
            language=language,
            fetched_at=fetched_at,
            content_hash=content_hash(text),
            author=stored_field(extracted.author, MAX_AUTHOR_CHARS),
            authors=tuple(stored_field(name, MAX_AUTHOR_CHARS) or "" for name in extracted.authors),
            published_at=published.moment,
            published_source=published.source,
            published_precision=published.precision,
            published_evidence=published.evidence,
            paywalled=extracted.paywall is not None,
            text_source=text_source,
            charset=charset,
            attribution=extracted.attribution,
            attribution_url=extracted.attribution_url,
            disclaimer=extracted.disclaimer,
            declared_canonical=untrusted,
            editions=same_site_editions(source, address, identity, body),
        ),
    )


def _parsed_or_listed(
    parse: Callable[[str, str, Source], Extracted],
    body: str,
    address: str,
    source: Source,
    listed: Link | None,
) -> tuple[Extracted, str]:
    """The page's article and "page"; where it yields none, its feed item's description when
    that is an article's worth of text (the item's title with it) and "feed_description", else
    the page's own failure."""
    try:
        return parse(body, address, source), "page"
    except ExtractionError:
        if listed is None or not listed.summary or not enough_text(listed.summary.split("\n")):
            raise
        return Extracted(title=listed.title, text=listed.summary), "feed_description"


def _publication(
    extracted: Extracted,
    body: str,
    address: str,
    listed_at: datetime | None,
    source: Source,
    fetched_at: datetime,
) -> Published:
    """The page's publication time inside the plausible window (each candidate is checked
    against it too); a date that cannot be read or is out of it costs the date (logged with
    its value), never the page."""
    try:
        published = publication(extracted, body, address, listed_at, source, fetched_at)
    except (ValueError, OverflowError, TypeError, AttributeError) as exc:
        log.warning("page %s: its publication date dropped: %s: %s", address, type(exc), exc)
        return Published(None, PublishedSource.NONE)
    window = source.limits.date_window
    if checked_date(published.moment, f"page {address}", window) is None:
        return Published(None, PublishedSource.NONE)
    return published


def _over_budget(body: str, source: Source) -> str | None:
    """Why a page is too costly to parse at all (more elements than max_page_elements), else
    None: a count of '<' bounds the elements and costs a scan of the string."""
    cap = source.limits.max_page_elements
    if (tags := body.count("<")) > cap * 2:  # an element is an opening and a closing tag
        return f"about {tags // 2} HTML elements, over max_page_elements {cap}"
    return None


def article_identity(source: Source, address: str, extracted: Extracted) -> tuple[str, str | None]:
    """The article's key, and the page's canonical URL when it was not trusted as that key.

    A page may name its canonical URL only on its own site (see same_site): otherwise any
    page could claim another site's article.
    """
    declared = extracted.canonical_url
    if declared and same_site(declared, address, source):
        return canonical_url(declared), None
    return canonical_url(address), (canonical_url(declared) if declared else None)


def same_site_editions(
    source: Source, address: str, identity: str, page: str
) -> tuple[Edition, ...]:
    """The page's other language editions, trusted only on its own site (as its canonical):
    otherwise any page could join another site's stories.

    Only a set that names the page itself counts, as hreflang asks: templates that link every
    page to the language home pages ("/en/") would otherwise make one story of a whole site.
    """
    editions = {
        (language, canonical_url(href)): None
        for language, href in hreflang_alternates(page, address)
        if same_site(href, address, source)
    }
    named = {url for _, url in editions}
    if identity not in named and canonical_url(address) not in named:
        return ()
    return tuple(Edition(language, url) for language, url in editions if url != identity)


def same_site(candidate: str, address: str, source: Source) -> bool:
    """Whether the page at `address` may speak for `candidate`: both on one site (registrable
    domain; for an address without one, such as an IP, the same host and port), or both on
    the source's configured hosts (its base URL's and allow_hosts)."""
    claimed, page = _site(candidate), _site(address)
    if claimed is None or page is None:
        return False
    if claimed == page:
        return True
    own = {_site(source.base_url), *map(_site, (f"//{h}" for h in source.allow_hosts))}
    return claimed in own and page in own


def _site(url: str) -> str | None:
    """A URL's site, as politeness counts it (connectors.politeness.site_key); None when it
    is no http(s) URL. A scheme-relative URL ("//host/path") is read as http."""
    try:
        return site_key("http:" + url if url.startswith("//") else url)
    except AddressRefused:
        return None
