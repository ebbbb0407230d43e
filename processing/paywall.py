"""Whether a page holds its article behind a paywall: then its text is a teaser, not the story.

The page says so itself: schema.org `isAccessibleForFree: false` in its JSON-LD or microdata,
a locked content tier (`article:content_tier`), or the box a paywall vendor puts where the
story stops (Piano, a "paywall" or "subscriber-only" container with its prompt in it).
"""

from __future__ import annotations

import re

import lxml.html

from processing.published import Named, capped_text, named_elements

_NOT_FREE = re.compile(r'"isAccessibleForFree"\s*:\s*(?:false|"false"|"False")', re.IGNORECASE)
_BOX = re.compile(
    r"(?:^|[\s_-])(?:paywall|regwall|piano-offer|tp-container|subscriber-only|subscribers-only"
    r"|premium-content-locked|article-locked|locked-content|meter-wall|content-gate)(?:$|[\s_-])",
    re.IGNORECASE,
)
# What the class or id of a vendor's box contains (any case): the words named_elements looks for.
BOX_WORDS = ("paywall", "regwall", "piano-offer", "tp-container", "subscriber", "locked")
BOX_WORDS += ("meter-wall", "content-gate")
MIN_PROMPT_CHARS = 20  # an empty vendor box is on free pages too: the prompt must be shown


def paywall_marker(
    tree: lxml.html.HtmlElement,
    metas: list[tuple[tuple[str | None, ...], str]],
    named: Named | None = None,
) -> str | None:
    """What shows the page is paywalled, or None for a free page (named: the page's
    named_elements, when the caller has read them)."""
    for script in tree.iter("script"):
        if "ld+json" in (script.get("type") or "") and _NOT_FREE.search(script.text or ""):
            return "JSON-LD isAccessibleForFree false"
    for element in tree.iter("meta"):
        content = (element.get("content") or "").strip().lower()
        if element.get("itemprop") == "isAccessibleForFree" and content == "false":
            return "microdata isAccessibleForFree false"
    for keys, content in metas:
        if "article:content_tier" in keys and content.strip().lower() == "locked":
            return "article:content_tier locked"
    for element, names in named_elements(tree, BOX_WORDS) if named is None else named:
        if _BOX.search(names) and len(capped_text(element, MIN_PROMPT_CHARS)) >= MIN_PROMPT_CHARS:
            return f"paywall box <{element.tag} {names.strip()[:60]}>"
    return None
