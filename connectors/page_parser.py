"""The contract of a page parser, and loading the per-site class sources.yaml names.

It lives on the lowest floor so that a source (connectors.config) can name its parser class
without importing processing; processing.parsers holds the parsers newsflow ships.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from connectors.config import Source
    from connectors.records import Extracted

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


class PageParser(ABC):
    """One page in, its article out; raise processing.extract.ExtractionError when it has none.

    A parser is built with no arguments for each page and does no I/O: it runs in worker
    processes, and on archived bodies when pages are reprocessed.
    """

    content_types: ClassVar[frozenset[str]] = HTML_TYPES  # media types it can read

    @abstractmethod
    def parse(self, page: str, url: str, source: Source) -> Extracted:
        """The article of a page (already decoded to text) found at url."""


def load_parser(spec: str) -> type[PageParser]:
    """The page parser class named `module:Class`; ValueError saying why when it is not one."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ValueError(f"{spec!r} is not of the form module:Class")
    try:
        parser = getattr(importlib.import_module(module_name), class_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name}: {exc}") from exc
    except AttributeError as exc:
        raise ValueError(f"module {module_name} has no {class_name}") from exc
    if not (isinstance(parser, type) and issubclass(parser, PageParser)):
        raise ValueError(f"{spec} is not a connectors.page_parser.PageParser subclass")
    return parser
