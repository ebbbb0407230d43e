"""Whether a page holds its article behind a paywall: then its text is a teaser, not the story.

The page says so itself: schema.org `isAccessibleForFree: false` in its JSON-LD or microdata,
a locked content tier (`article:content_tier`), or the box a paywall vendor puts where the
story stops (Piano, a "paywall" or "subscriber-only" container with its prompt in it).
"""

from __future__ import annotations

import re

import lxml.html

from processing.published import names_containing

_NOT_FREE = re.compile(r'"isAccessibleForFree"\s*:\s*(?:false|"false"|"False")', re.IGNORECASE)
_BOX = re.compile(
    r"(?:^|[\s_-])(?:paywall|regwall|piano-offer|tp-container|subscriber-only|subscribers-only"
    r"|premium-content-locked|article-locked|locked-content|meter-wall|content-gate)(?:$|[\s_-])",
    re.IGNORECASE,
)
_BOXES = names_containing(
    "paywall",
    "Paywall",
    "regwall",
    "piano",
    "tp-container",
    "subscriber",
    "locked",
    "meter-wall",
    "content-gate",
)
MIN_PROMPT_CHARS = 20  # an empty vendor box is on free pages too: the prompt must be shown


def paywall_marker(
    tree: lxml.html.HtmlElement, metas: list[tuple[tuple[str | None, ...], str]]
) -> str | None:
    """What shows the page is paywalled, or None for a free page."""
    for script in tree.iter("script"):
        if "ld+json" in (script.get("type") or "") and _NOT_FREE.search(script.text or ""):
            return "JSON-LD isAccessibleForFree false"
    for element in tree.xpath("//*[@itemprop='isAccessibleForFree']"):
        if (element.get("content") or "").strip().lower() == "false":
            return "microdata isAccessibleForFree false"
    for keys, content in metas:
        if "article:content_tier" in keys and content.strip().lower() == "locked":
            return "article:content_tier locked"
    for element in _BOXES(tree):
        names = f"{element.get('class') or ''} {element.get('id') or ''}"
        if _BOX.search(names) and len(element.text_content().strip()) >= MIN_PROMPT_CHARS:
            return f"paywall box <{element.tag} {names.strip()[:60]}>"
    return None
