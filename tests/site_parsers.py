"""A worked example of a per-site page parser, as a user would write one for their site.

sources.yaml names it with `parser: site_parsers:CaliberParser` (module:Class, importable on
the Python path); it is imported when sources.yaml is loaded.
"""

from __future__ import annotations

from datetime import datetime

from lxml.cssselect import CSSSelector

from connectors.config import Source
from connectors.markup import parse_html
from connectors.page_parser import PageParser
from connectors.records import Extracted
from processing.extract import ExtractionError


class CaliberParser(PageParser):
    """Caliber.Az: the story is the <p>s directly in .post_body; the rest is furniture."""

    paragraphs = CSSSelector(".post_body > p")
    title = CSSSelector("h1.post_title")
    published = CSSSelector(".post_date time[datetime]")
    author = CSSSelector('meta[name="author"]')

    def parse(self, page: str, url: str, source: Source) -> Extracted:
        """Title, date, author and paragraphs read by the site's own selectors."""
        tree = parse_html(page)
        text = "\n".join(p.text_content().strip() for p in self.paragraphs(tree))
        if not text:
            raise ExtractionError("no .post_body paragraphs")
        [title] = self.title(tree) or [None]
        [time] = self.published(tree) or [None]
        [author] = self.author(tree) or [None]
        return Extracted(
            title=title.text_content().strip() if title is not None else None,
            text=text,
            author=author.get("content") if author is not None else None,
            published_at=datetime.fromisoformat(time.get("datetime")) if time is not None else None,
            declared_language=tree.get("lang"),
            canonical_url=url,
        )
