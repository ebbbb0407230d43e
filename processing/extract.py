"""Main text and metadata of an article page, with the site's boilerplate removed."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from contextlib import nullcontext, suppress
from functools import lru_cache
from itertools import islice

import lxml.html
import trafilatura
from lxml.cssselect import CSSSelector
from lxml.etree import ParserError
from trafilatura.metadata import examine_meta, extract_author, extract_meta_json, extract_title
from trafilatura.settings import DEFAULT_CONFIG

from connectors.config import Cleanup
from connectors.markup import parse_html
from connectors.records import Extracted
from connectors.urls import web_url
from processing.authors import json_ld_authors, split_authors
from processing.boilerplate import (
    Cleaned,
    clean_lines,
    clean_tree,
    drop_empty_inline,
    join_story_chunks,
    unlink_printed_urls,
)
from processing.fallback import compared_below
from processing.language import normalize_code
from processing.paywall import BOX_WORDS, paywall_marker
from processing.published import DATED_WORDS, named_elements, page_clues

log = logging.getLogger("newsflow.untrusted")


# Below this many letters a page holds a menu or an error message, not an article: a short
# Chinese news brief has about 80, a two-sentence Russian note about 150.
MIN_TEXT_LETTERS = 40


# trafilatura's own threshold below which its default (balanced) mode retries an extraction.
_MIN_EXTRACTED_SIZE = DEFAULT_CONFIG.getint("DEFAULT", "MIN_EXTRACTED_SIZE")
# A precision text this long, with paragraphs and clean, skips trafilatura's readability/justext
# comparison (processing.fallback): on the benchmark it changed only texts under 900 characters.
COMPARED_BELOW = 2 * _MIN_EXTRACTED_SIZE


class ExtractionError(ValueError):
    """A page that holds no article text we can use."""


def extract(
    html: str, url: str, cleanup: Cleanup | None = None, skip_rules: Collection[str] = ()
) -> Extracted:
    """Title, text (paragraphs joined by newlines), author, date, declared language, canonical,
    and the attribution lines and disclaimer set apart from the text.

    The source's drop_selectors and the generic tree rules (processing.boilerplate) remove
    elements before trafilatura sees the page; attribution and disclaimers are set apart and the
    generic line rules applied after, then paragraphs matching the source's drop_patterns are
    dropped. skip_rules names generic rules to leave out (to measure what each one does).
    """
    cleanup = cleanup or Cleanup()
    if not html or not html.strip():
        raise ExtractionError("empty page")
    try:
        tree = parse_html(html)  # XHTML with an XML declaration too
    except (ParserError, ValueError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}") from exc
    metas = _metas(tree)
    declared = normalize_code(tree.get("lang") or _meta(metas, "og:locale", "language"))
    canonical = _canonical(tree, url)
    named = named_elements(tree, DATED_WORDS + BOX_WORDS)  # one pass for both searches
    clues = tuple(page_clues(tree, metas, url, named))
    paywall = paywall_marker(tree, metas, named)
    found = clean_tree(tree, skip_rules)
    for selector in cleanup.drop_selectors:
        for element in _selector(selector)(tree):
            element.drop_tree()
    site = _meta(metas, "og:site_name")
    authors = json_ld_authors(_json_ld(tree), site)
    title, byline = _title_and_author(tree, byline_needed=not authors)
    authors = authors or split_authors(byline or found.byline(), site)
    if "story_chunks" not in skip_rules:
        join_story_chunks(tree)
    if "empty_inline" not in skip_rules:
        drop_empty_inline(tree)
    if "printed_urls" not in skip_rules:
        unlink_printed_urls(tree)
    text = _article_text(tree, url, title, found, cleanup, skip_rules, precision=True)
    # Precision first leaves less for the rules, but it also turns off trafilatura's own retry of
    # a short extraction: where little text is left, its balanced mode reads the page again
    # (trafilatura copies the tree, so only those pages pay). On the English benchmark's only
    # such page, precision had kept a reprints notice instead of the story.
    if _chars(text) < _MIN_EXTRACTED_SIZE:
        balanced = _article_text(tree, url, title, found, cleanup, skip_rules, precision=False)
        if _chars(balanced) > _chars(text):
            text = balanced
    if text is None:
        raise ExtractionError("no main text found")
    cleaned, paragraphs = text
    if not paragraphs:
        raise ExtractionError("no text left after the source's cleanup rules")
    if (letters := _letters(paragraphs)) < MIN_TEXT_LETTERS:
        raise ExtractionError(f"too little text for an article ({letters} letters)")
    return Extracted(
        title=title,
        text="\n".join(paragraphs),
        author=", ".join(authors) or None,
        authors=authors,
        date_clues=clues,
        paywall=paywall,
        declared_language=declared,
        canonical_url=canonical,
        attribution=cleaned.attribution,
        attribution_url=cleaned.attribution_url,
        disclaimer=cleaned.disclaimer,
    )


def _letters(paragraphs: list[str]) -> int:
    """Letters in the text, counted up to MIN_TEXT_LETTERS only: reading every character of a
    long article cost 4% of it."""
    return sum(1 for _ in islice(filter(str.isalpha, "".join(paragraphs)), MIN_TEXT_LETTERS))


def enough_text(paragraphs: list[str]) -> bool:
    """Whether the paragraphs hold an article's worth of letters, not a menu or an error."""
    return _letters(paragraphs) >= MIN_TEXT_LETTERS


_Text = tuple[Cleaned, list[str]]


def _article_text(
    tree: lxml.html.HtmlElement,
    url: str,
    title: str | None,
    found: Cleaned,
    cleanup: Cleanup,
    skip_rules: Collection[str],
    precision: bool,
) -> _Text | None:
    """trafilatura's main text after the generic line rules and the source's drop_patterns, the
    headline left out; None where trafilatura finds none."""
    with compared_below(COMPARED_BELOW, tree) if precision else nullcontext():
        document = trafilatura.bare_extraction(
            tree,
            url=url,
            include_comments=False,
            # Tables are article text as often as layout, and precision first leaves less for
            # the rules: together +0.003 F1 on the English benchmark (bench/extraction.py),
            # either one alone a little less than neither.
            include_tables=True,
            favor_precision=precision,
        )
    if document is None or not (document.text or "").strip():
        return None
    cleaned = clean_lines(
        [" ".join(line.split()) for line in document.text.splitlines() if line.strip()],
        skip_rules,
        found,
    )
    patterns = _patterns(cleanup.drop_patterns)
    paragraphs = [
        line for line in cleaned.lines if not any(pattern.search(line) for pattern in patterns)
    ]
    if paragraphs and paragraphs[0] == title:  # the headline is the title, not text
        paragraphs = paragraphs[1:]
    return cleaned, paragraphs


def _chars(text: _Text | None) -> int:
    return sum(map(len, text[1])) if text else 0


def _title_and_author(
    tree: lxml.html.HtmlElement, byline_needed: bool = True
) -> tuple[str | None, str | None]:
    """Title and byline as trafilatura's metadata step finds them (meta tags, JSON-LD, then the
    page), without the categories, tags, licence and extensive date search it also runs: those
    took a fifth of the page's time and the pipeline keeps none of them. The byline is split
    into people by processing.authors (a lone word there is a name in CJK, a handle elsewhere).
    Where the JSON-LD already named the authors, no byline is looked for, and trafilatura's
    JSON-LD reader only where the meta tags hold no title (it never replaces one)."""
    found = examine_meta(tree)
    if byline_needed or not found.title:
        with suppress(Exception):  # trafilatura's JSON-LD reader fails on some odd markup
            found = extract_meta_json(tree, found)
    byline = (found.author or extract_author(tree) or None) if byline_needed else None
    return found.title or extract_title(tree) or None, byline


def _json_ld(tree: lxml.html.HtmlElement) -> list[str]:
    """The texts of the page's JSON-LD scripts."""
    return [s.text for s in tree.iter("script") if "ld+json" in (s.get("type") or "") and s.text]


_Metas = list[tuple[tuple[str | None, str | None, str | None], str]]


def _metas(tree: lxml.html.HtmlElement) -> _Metas:
    """The page's <meta> tags with content, as (property, name, itemprop) and content: read
    once for all the names looked up (an XPath per name walked the whole page each time)."""
    found = []
    for element in tree.iter("meta"):
        if content := (element.get("content") or "").strip():
            keys = (element.get("property"), element.get("name"), element.get("itemprop"))
            found.append((keys, content))
    return found


def _meta(metas: _Metas, *names: str) -> str | None:
    """The content of the first meta tag naming the first of `names` that the page has."""
    for name in names:
        for keys, content in metas:
            if name in keys:
                return content
    return None


def _canonical(tree: lxml.html.HtmlElement, url: str) -> str | None:
    """The first <link rel="canonical" href>'s URL (lxml's tag-filtered iteration: the same
    elements as //link[@rel='canonical'][@href], in half the time of the XPath)."""
    for element in tree.iter("link"):
        if element.get("rel") != "canonical" or element.get("href") is None:
            continue
        href = web_url(element.get("href"), url)
        if isinstance(href, str):
            return href
        log.warning("page %s: its rel=canonical dropped, %s", url, href)
    return None


@lru_cache(maxsize=256)
def _selector(css: str) -> CSSSelector:
    return CSSSelector(css)


@lru_cache(maxsize=64)
def _patterns(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern) for pattern in patterns)
