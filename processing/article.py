"""From a fetched page to an Article: extraction, language and identity in the pipeline's order."""

from __future__ import annotations

from datetime import datetime

from connectors.config import Cleanup, Source
from processing.dedup import canonical_url, content_hash
from processing.extract import extract
from processing.language import detect_language
from processing.records import Article, Extracted


def read_page(
    html: str, url: str, cleanup: Cleanup | None = None, section_language: str | None = None
) -> tuple[Extracted, str]:
    """Extract a page and detect its language, as the pipeline does; raises ExtractionError.

    The declared language (the page's <html lang>, else the site section's) only breaks ties.
    """
    extracted = extract(html, url, cleanup)
    declared = extracted.declared_language or section_language
    return extracted, detect_language(extracted.text, declared)


def build_article(source: Source, url: str, html: str, fetched_at: datetime) -> Article:
    """The article a page holds, keyed by its canonical URL; raises ExtractionError if none."""
    extracted, language = read_page(html, url, source.cleanup, source.declared_language(url))
    return Article(
        source_id=source.id,
        url=canonical_url(extracted.canonical_url or url),
        title=extracted.title,
        text=extracted.text,
        language=language,
        fetched_at=fetched_at,
        content_hash=content_hash(extracted.text),
        author=extracted.author,
        published_at=extracted.published_at,
    )
