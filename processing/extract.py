"""Main text and metadata of an article page, with the site's boilerplate removed."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from urllib.parse import urljoin

import lxml.html
import trafilatura
from lxml.cssselect import CSSSelector
from lxml.etree import ParserError

from connectors.config import Cleanup
from connectors.http import parse_html
from processing.language import normalize_code
from processing.records import Extracted

_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "datePublished",
    "pubdate",
    "publish-date",
    "date",
)


# Below this many letters a page holds a menu or an error message, not an article: a short
# Chinese news brief has about 80, a two-sentence Russian note about 150.
MIN_TEXT_LETTERS = 40


class ExtractionError(ValueError):
    """A page that holds no article text we can use."""


def extract(html: str, url: str, cleanup: Cleanup | None = None) -> Extracted:
    """Title, text (paragraphs joined by newlines), author, date, declared language, canonical.

    Reader comments are excluded; the source's drop_selectors are removed from the page before
    trafilatura sees it and paragraphs matching its drop_patterns are dropped after.
    """
    cleanup = cleanup or Cleanup()
    if not html or not html.strip():
        raise ExtractionError("empty page")
    try:
        tree = parse_html(html)  # XHTML with an XML declaration too
    except (ParserError, ValueError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}") from exc
    declared = normalize_code(tree.get("lang") or _meta(tree, "og:locale", "language"))
    canonical = _canonical(tree, url)
    published = _published(tree)
    for selector in cleanup.drop_selectors:
        for element in _selector(selector)(tree):
            element.drop_tree()
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
    )
    if document is None or not (document.text or "").strip():
        raise ExtractionError("no main text found")
    patterns = _patterns(cleanup.drop_patterns)
    paragraphs = [
        " ".join(line.split())
        for line in document.text.splitlines()
        if line.strip() and not any(pattern.search(line.strip()) for pattern in patterns)
    ]
    if not paragraphs:
        raise ExtractionError("no text left after the source's cleanup rules")
    letters = sum(ch.isalpha() for paragraph in paragraphs for ch in paragraph)
    if letters < MIN_TEXT_LETTERS:
        raise ExtractionError(f"too little text for an article ({letters} letters)")
    return Extracted(
        title=document.title or None,
        text="\n".join(paragraphs),
        author=document.author or None,
        published_at=published or _date_only(document.date),
        declared_language=declared,
        canonical_url=canonical,
    )


def _meta(tree: lxml.html.HtmlElement, *names: str) -> str | None:
    for name in names:
        for element in tree.xpath("//meta[@property=$n or @name=$n or @itemprop=$n]", n=name):
            if content := (element.get("content") or "").strip():
                return content
    return None


def _canonical(tree: lxml.html.HtmlElement, url: str) -> str | None:
    for element in tree.xpath("//link[@rel='canonical'][@href]"):
        href = urljoin(url, element.get("href").strip())
        if href.startswith(("http://", "https://")):
            return href
    return None


def _published(tree: lxml.html.HtmlElement) -> datetime | None:
    """Publication time with its time zone, from the page's meta tags, when it has one."""
    value = _meta(tree, *_PUBLISHED_META)
    if not value:
        for element in tree.xpath("//time[@datetime]"):
            value = element.get("datetime")
            break
    try:
        return datetime.fromisoformat(value.strip()) if value else None
    except ValueError:
        return None


def _date_only(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


@lru_cache(maxsize=256)
def _selector(css: str) -> CSSSelector:
    return CSSSelector(css)


@lru_cache(maxsize=64)
def _patterns(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern) for pattern in patterns)
