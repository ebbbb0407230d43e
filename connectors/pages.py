"""Article pages that are JavaScript shells: the text lives in a JSON blob the page embeds."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from lxml import etree
from lxml.cssselect import CSSSelector

from connectors.discovery import json_path, parse_datetime
from connectors.http import parse_html


@dataclass(frozen=True)
class PageJson:
    """Where a shell page keeps its article (`page_json:` in sources.yaml): dotted JSON paths."""

    script: str  # CSS selector of the <script> element holding the JSON
    title: str
    content: str  # HTML, or plain text with one paragraph per line
    time: str | None = None  # epoch seconds or ISO 8601
    author: str | None = None
    urlencoded: bool = False  # the JSON is percent-encoded (Toutiao's RENDER_DATA)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> PageJson | None:
        spec = options.get("page_json")
        return cls(**spec) if spec else None


def unshell(page: str, spec: PageJson, url: str) -> str | None:
    """The article rebuilt as a plain HTML page from the page's JSON blob; None if it has none.

    The rebuilt page carries the title, date, author, language and canonical URL the way
    ordinary article pages do, so extraction and cleanup treat it like any other page.
    """
    try:
        tree = parse_html(page)
    except (etree.ParserError, ValueError):
        return None
    scripts = CSSSelector(spec.script)(tree)
    if not scripts or not (scripts[0].text or "").strip():
        return None
    raw = scripts[0].text.strip()
    try:
        document = json.loads(unquote(raw) if spec.urlencoded else raw)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
        return None
    title, content = json_path(document, spec.title), json_path(document, spec.content)
    if not isinstance(content, str) or not content.strip():
        return None
    if "<" not in content:
        content = "".join(f"<p>{html.escape(line)}</p>" for line in content.splitlines() if line)
    stamp = json_path(document, spec.time) if spec.time else None
    published = parse_datetime(str(stamp)) if stamp is not None else None
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
    lang = html.escape(tree.get("lang") or "")
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head>{"".join(head)}</head>'
        f"<body><header><h1>{title_text}</h1></header><article>{content}</article></body></html>"
    )
