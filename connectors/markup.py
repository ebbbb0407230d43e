"""HTML text to a document tree: the one parser setup every page, listing and page shell uses."""

from __future__ import annotations

import re

import lxml.etree
import lxml.html

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)


def parse_html(text: str) -> lxml.html.HtmlElement:
    """An HTML (or XHTML) document tree; ValueError or lxml's ParserError when there is none.

    An XML declaration with an encoding is dropped first: the text is already decoded, and lxml
    refuses a str that declares its own encoding. Comments and processing instructions are
    never text; left in the tree, trafilatura stops at them inside a story's body (two pages of
    the English benchmark lost half their text). A parser per call: lxml's are not thread-safe.
    """
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False)
    parser.set_element_class_lookup(_HTML_CLASSES)
    return lxml.html.document_fromstring(without_xml_declaration(text), parser=parser)


# Every element an HtmlElement, chosen in C. lxml.html's own lookup calls Python for each element
# object made, to give form fields their own classes, which nothing here uses: trafilatura's
# copies of the tree make such objects for every element, several times a page (5% of the page
# path's time on the extraction benchmark, the same output).
_HTML_CLASSES = lxml.etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement,
    comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity,
)


def without_xml_declaration(text: str) -> str:
    """Decoded text without its `<?xml ... encoding=...?>`, which no longer says how it is encoded
    (a parser that believed it would decode the text a second time)."""
    return _XML_DECLARATION.sub("", text, count=1)
