"""Reading a page: extraction, then language detection with the declared language as a prior."""

from __future__ import annotations

from connectors.config import Cleanup
from processing.extract import extract
from processing.language import detect_language
from processing.records import Extracted


def read_page(
    html: str, url: str, cleanup: Cleanup | None = None, section_language: str | None = None
) -> tuple[Extracted, str]:
    """Extract a page and detect its language, as the pipeline does; raises ExtractionError.

    The declared language (the page's <html lang>, else the site section's) only breaks ties.
    """
    extracted = extract(html, url, cleanup)
    declared = extracted.declared_language or section_language
    return extracted, detect_language(extracted.text, declared)
