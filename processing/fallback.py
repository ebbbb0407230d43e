"""trafilatura's readability/justext comparison, only where it can still help the page path.

After its own extractor, trafilatura runs readability over another copy of the whole page
(and justext on short or unclean results) and keeps their text where its rules prefer it. In
precision mode those rules replace a text only when it is empty or short (justext below
MIN_EXTRACTED_SIZE characters, readability when over twice as long), when the text holds
furniture tags (justext), or when it has no paragraph text or is mostly tables (readability).
The comparison cost about a sixth of the page path's CPU (readability, and the copy of the
page it reads).

Inside `compared_below(chars, page)`, a precision-mode extraction whose own text is that long or
longer, with paragraph text, not table-dominated and clean, keeps its text without the
comparison; any other runs it exactly as trafilatura does. On the 181 benchmark pages the
comparison changed 6 texts, all of own texts under 900 characters; at 500 (twice trafilatura's
own minimum) the one page of them it made worse keeps its own text (bench/README.md,
2026-12-08). Outside the context (other callers of trafilatura in this process, such as the
benches' baselines) nothing changes.

The raw page (trafilatura's own copy, pruned) was copied once more before its cleaning, and
the cleaned page once more before its tag conversion, both kept for the comparison only;
inside the context the raw page is cleaned in place and no backup is made, and the few pages
that are compared read a raw page derived again from the caller's page as trafilatura derives
it (tests/test_fallback.py: every fixture page compared comes out as trafilatura's own).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from copy import copy
from typing import Any

import trafilatura.core
from trafilatura.external import SANITIZED_XPATH, compare_extraction
from trafilatura.htmlprocessing import convert_tags, prune_unwanted_nodes, tree_cleaning
from trafilatura.main_extractor import extract_content
from trafilatura.xpaths import RAW_TREE_PRUNE_XPATH, REMOVE_COMMENTS_AND_LISTS_XPATH

# The threshold and the caller's tree (the page as handed to bare_extraction), while inside.
_GATE: ContextVar[tuple[int, Any] | None] = ContextVar("compared_below", default=None)
_SHIPPED = trafilatura.core._extract_and_compare
_SHIPPED_PREPARE = trafilatura.core._prepare_tree


@contextmanager
def compared_below(chars: int, page: Any) -> Iterator[None]:
    """trafilatura's comparison only for precision texts shorter than `chars` (or unfit), in
    extractions of `page` (the tree handed to bare_extraction, which it copies and leaves)."""
    _install()
    token = _GATE.set((chars, page))
    try:
        yield
    finally:
        _GATE.reset(token)


def _install() -> None:
    """Swap the gated steps in for trafilatura's (idempotent): the same calls, the same
    results, outside compared_below."""
    trafilatura.core._prepare_tree = _prepare_tree
    trafilatura.core._extract_and_compare = _extract_and_compare


def _gated(options: Any) -> bool:
    return (
        _GATE.get() is not None
        and options.focus == "precision"
        and not options.fast
        and not options.comments
    )


def _prepare_tree(tree: Any, options: Any, url: str | None) -> tuple[Any, Any]:
    """trafilatura's cleaning and tag conversion, on its raw page itself: no backup (None)."""
    if not _gated(options):
        return _SHIPPED_PREPARE(tree, options, url)
    return convert_tags(tree_cleaning(tree, options), options, url), None


def _extract_and_compare(cleaned: Any, backup: Any, tree: Any, options: Any) -> tuple[Any, str]:
    if not _gated(options) or backup is not None:
        return _SHIPPED(cleaned, backup, tree, options)
    below, page = _GATE.get()  # type: ignore[misc]
    body, text = extract_content(cleaned, options)
    if len(text) < below or _unfit(body):
        raw = _raw(page)  # what trafilatura's raw page was before it was cleaned in place
        return compare_extraction(tree_cleaning(copy(raw), options), raw, body, text, options)
    return body, text


def _raw(page: Any) -> Any:
    """trafilatura's raw page in precision mode without comments (trafilatura_sequence): its
    copy of the page, furniture and comment sections pruned."""
    raw = prune_unwanted_nodes(copy(page), RAW_TREE_PRUNE_XPATH)
    return prune_unwanted_nodes(raw, REMOVE_COMMENTS_AND_LISTS_XPATH)


def _unfit(body: Any) -> bool:
    """What makes trafilatura's rules prefer another text whatever the lengths: no paragraph
    text, more tables than paragraphs (readability), furniture tags in the text (justext)."""
    return (
        not body.xpath(".//p//text()")
        or len(body.findall(".//table")) > len(body.findall(".//p"))
        or bool(body.xpath(SANITIZED_XPATH))
    )
