"""trafilatura's readability/justext comparison, only where it can still help the page path.

After its own extractor, trafilatura runs readability over another copy of the whole page
(and justext on short or unclean results) and keeps their text where its rules prefer it. In
precision mode those rules replace a text only when it is empty or short (justext below
MIN_EXTRACTED_SIZE characters, readability when over twice as long), when the text holds
furniture tags (justext), or when it has no paragraph text or is mostly tables (readability).
The comparison cost about a sixth of the page path's CPU (readability, and the copy of the
page it reads).

Inside `compared_below(chars)`, a precision-mode extraction whose own text is that long or
longer, with paragraph text, not table-dominated and clean, keeps its text without the
comparison; any other runs it exactly as trafilatura does. On the 181 benchmark pages the
comparison changed 6 texts, all of own texts under 900 characters; at 500 (twice trafilatura's
own minimum) the one page of them it made worse keeps its own text (bench/README.md,
2026-12-08). Outside the context (other callers of trafilatura in this process, such as the
benches' baselines) nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from copy import copy
from typing import Any

import trafilatura.core
from trafilatura.external import SANITIZED_XPATH, compare_extraction
from trafilatura.main_extractor import extract_content

_BELOW: ContextVar[int | None] = ContextVar("compared_below", default=None)
_SHIPPED = trafilatura.core._extract_and_compare


@contextmanager
def compared_below(chars: int) -> Iterator[None]:
    """trafilatura's comparison only for precision texts shorter than `chars` (or unfit)."""
    _install()
    token = _BELOW.set(chars)
    try:
        yield
    finally:
        _BELOW.reset(token)


def _install() -> None:
    """Swap the gated step in for trafilatura's (idempotent): the same call, the same result,
    outside compared_below."""
    trafilatura.core._extract_and_compare = _extract_and_compare


def _extract_and_compare(cleaned: Any, backup: Any, tree: Any, options: Any) -> tuple[Any, str]:
    below = _BELOW.get()
    if below is None or options.fast or options.focus != "precision":
        return _SHIPPED(cleaned, backup, tree, options)
    body, text = extract_content(cleaned, options)
    if len(text) < below or _unfit(body):
        return compare_extraction(backup, copy(tree), body, text, options)
    return body, text


def _unfit(body: Any) -> bool:
    """What makes trafilatura's rules prefer another text whatever the lengths: no paragraph
    text, more tables than paragraphs (readability), furniture tags in the text (justext)."""
    return (
        not body.xpath(".//p//text()")
        or len(body.findall(".//table")) > len(body.findall(".//p"))
        or bool(body.xpath(SANITIZED_XPATH))
    )
