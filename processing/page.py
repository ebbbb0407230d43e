"""The one page -> article path, used alike by ingest, reprocess and `newsflow extract`.

A fetched (or archived, or saved) page goes through the same steps everywhere: the source's
page parser (processing.parsers: trafilatura with the source's cleanup, the embedded-JSON one
for JS shells, or a per-site class) and its content types, language detection, and the
article's identity (a canonical URL trusted only on the page's own site). Pure: no I/O, so it
runs in a process pool and on archived bodies without the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from tld import get_fld

from connectors.config import Source
from connectors.records import Charset, Extracted, Outcome
from processing.article import article_language, hreflang_alternates, publication
from processing.dedup import canonical_url, content_hash
from processing.extract import ExtractionError
from processing.parsers import parser_for
from processing.records import Article, Edition


@dataclass(frozen=True)
class PageResult:
    """What one page became: an article, or the outcome and reason there is none."""

    outcome: Outcome  # OK (article set), NOT_HTML, NO_CONTENT or CRASHED
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
) -> PageResult:
    """Turn one page body into an Article; every failure is a result, never an exception.

    url is the URL the page was asked for, final_url where redirects ended (the page's address).
    listed_at is the publication time its listing gave the link, for a page that has none;
    charset how the fetch decoded the body (both recorded on the article, see Article).
    """
    parser = parser_for(source)
    if content_type and content_type not in parser.content_types:
        return PageResult(Outcome.NOT_HTML, error=f"content type {content_type}")
    address = final_url or url
    try:
        extracted = parser.parse(body, address, source)
        language = article_language(extracted, source.declared_language(address))
        published_at, published_source = publication(extracted, body, address, listed_at, source)
    except ExtractionError as exc:
        return PageResult(Outcome.NO_CONTENT, error=str(exc))
    except Exception as exc:  # one odd page must never cost its source the other pages
        return PageResult(Outcome.CRASHED, error=f"{type(exc).__name__}: {exc}"[:500])
    identity, untrusted = article_identity(source, address, extracted)
    return PageResult(
        Outcome.OK,
        Article(
            source_id=source.id,
            url=identity,
            title=extracted.title,
            text=extracted.text,
            language=language,
            fetched_at=fetched_at,
            content_hash=content_hash(extracted.text),
            author=extracted.author,
            published_at=published_at,
            published_source=published_source,
            charset=charset,
            attribution=extracted.attribution,
            attribution_url=extracted.attribution_url,
            disclaimer=extracted.disclaimer,
            declared_canonical=untrusted,
            editions=same_site_editions(source, address, identity, body),
        ),
    )


def article_identity(source: Source, address: str, extracted: Extracted) -> tuple[str, str | None]:
    """The article's key, and the page's canonical URL when it was not trusted as that key.

    A page may name its canonical URL only on its own site (the same registrable domain, or a
    host of its source): otherwise any page could claim another site's article.
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
    """Whether a URL lives on the site of `address` (registrable domain) or of its source."""
    host = (urlsplit(candidate).hostname or "").lower()
    hosts = {(urlsplit(u).hostname or "").lower() for u in (address, source.base_url)}
    if host in hosts:
        return True
    domain = _registrable(host)
    return domain is not None and domain in {_registrable(h) for h in hosts}


def _registrable(host: str) -> str | None:
    """example.co.uk for www.example.co.uk (public suffix list bundled with `tld`)."""
    if not host:
        return None
    domain = get_fld(host, fix_protocol=True, fail_silently=True)
    return str(domain).lower() if domain else None
