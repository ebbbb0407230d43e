"""The article's language, decided after parsing in the pipeline's order."""

from __future__ import annotations

from processing.language import detect_language
from processing.records import Extracted


def article_language(extracted: Extracted, section_language: str | None = None) -> str:
    """Detect a parsed page's language from its text.

    The declared language (the page's <html lang>, else the site section's) only breaks ties.
    """
    return detect_language(extracted.text, extracted.declared_language or section_language)
