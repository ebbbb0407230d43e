"""Page parsers: how one fetched page becomes an article's text and metadata.

trafilatura with the source's cleanup rules is the default. A source whose pages are
JavaScript shells, or JSON answers, says where the article's JSON is (`page_json:`). A site
that the generic parsers get wrong names its own class (`parser: module:Class`), the way
Fundus gives a publisher its own parser only where it needs one.
"""

from __future__ import annotations

from connectors.config import Source
from connectors.page_parser import HTML_TYPES, PageParser
from connectors.pages import unshell
from connectors.records import Extracted
from processing.extract import extract


class TrafilaturaParser(PageParser):
    """The default: trafilatura, with the source's cleanup selectors and patterns."""

    def parse(self, page: str, url: str, source: Source) -> Extracted:
        """The page's main text and metadata, the source's boilerplate removed."""
        return extract(page, url, source.cleanup)


class EmbeddedJsonParser(TrafilaturaParser):
    """JavaScript shells and JSON answers: the article is rebuilt from the JSON (`page_json:`),
    then read like any page; a page without that JSON is read as it is."""

    content_types = HTML_TYPES | {"application/json"}

    def parse(self, page: str, url: str, source: Source) -> Extracted:
        """The article of the page's JSON, else of the page itself."""
        spec = source.page_json
        language = source.declared_language(url)
        rebuilt = unshell(page, spec, url, language, source.dates) if spec else None
        return super().parse(rebuilt or page, url, source)


def parser_for(source: Source) -> PageParser:
    """The source's page parser: its own class, else the embedded-JSON one, else trafilatura."""
    if source.parser is not None:
        return source.parser()
    return EmbeddedJsonParser() if source.page_json else TrafilaturaParser()
