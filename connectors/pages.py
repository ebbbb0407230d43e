"""Article pages that are JavaScript shells: the text lives in a JSON blob the page embeds."""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import unquote

from lxml import etree
from lxml.cssselect import CSSSelector

from connectors.config import PageJson
from connectors.dates import DateReading, parse_timestamp
from connectors.discovery import json_path
from connectors.markup import parse_html


def unshell(
    page: str,
    spec: PageJson,
    url: str,
    language: str | None = None,
    reading: DateReading | None = None,
) -> str | None:
    """The article rebuilt as a plain HTML page from the page's JSON; None if it has none.

    The JSON is the page's <script> blob, or the whole page when spec names no script (an
    API answer). The rebuilt page carries the title, date, author, language (the page's own,
    else `language`) and canonical URL the way ordinary article pages do, so extraction and
    cleanup treat it like any other page. Its time is read as the source prints dates
    (`reading`: "2025-10-04 13:39:00" is Beijing time on a Toutiao page).
    """
    raw, lang = page.strip(), language
    if spec.script:
        try:
            tree = parse_html(page)
        except (etree.ParserError, ValueError):
            return None
        scripts = CSSSelector(spec.script)(tree)
        if not scripts or not (scripts[0].text or "").strip():
            return None
        raw, lang = scripts[0].text.strip(), tree.get("lang") or language
    document = _json(unquote(raw) if spec.urlencoded else raw)
    if document is None:
        return None
    title, content = json_path(document, spec.title), json_path(document, spec.content)
    if not isinstance(content, str) or not content.strip():
        return None
    if "<" not in content:
        content = "".join(f"<p>{html.escape(line)}</p>" for line in content.splitlines() if line)
    stamp = json_path(document, spec.time) if spec.time else None
    published = parse_timestamp(str(stamp), reading) if stamp is not None else None
    author = json_path(document, spec.author) if spec.author else None
    title_text = html.escape(str(title or ""))
    head = [
        '<meta charset="utf-8">',
        f"<title>{title_text}</title>",
        f'<meta property="og:title" content="{title_text}">',
        f'<link rel="canonical" href="{html.escape(url)}">',
    ]
    if published:
        head.append(f'<meta property="article:published_time" content="{published.isoformat()}">')
    if author:
        head.append(f'<meta name="author" content="{html.escape(str(author))}">')
    return (
        f'<!DOCTYPE html><html lang="{html.escape(lang or "")}"><head>{"".join(head)}</head>'
        f"<body><header><h1>{title_text}</h1></header><article>{content}</article></body></html>"
    )


def _json(raw: str) -> Any:
    """The JSON document in raw; None when it is not JSON (or nests deeper than Python can)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None
