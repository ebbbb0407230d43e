"""Records produced by the processing stages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connectors.records import (
    Charset,
    Disclaimer,
    FetchAttempt,
    PublishedSource,
    TranslationStatus,
)


@dataclass(frozen=True)
class Edition:
    """Another language edition of the same story that a page links to (hreflang alternate)."""

    language: str  # the hreflang value, lower-case: "en", "ru", "az", "pt-br"
    url: str  # canonical form


@dataclass(frozen=True)
class ParagraphTranslation:
    """One paragraph of an article beside its English; model is None where it was English."""

    position: int  # index in text.split("\n")
    text: str
    text_en: str
    language: str
    model: str | None


@dataclass(frozen=True)
class Translation:
    """English rendering of an article, or why there is none yet.

    status: see TranslationStatus.
    paragraphs: the alignment of each non-blank paragraph of a translated article.
    """

    status: TranslationStatus
    title_en: str | None = None
    text_en: str | None = None
    model: str | None = None
    error: str | None = None
    paragraphs: tuple[ParagraphTranslation, ...] = ()


@dataclass(frozen=True)
class Article:
    """An extracted article ready for the warehouse: one per canonical URL."""

    source_id: str
    url: str
    title: str | None
    text: str
    language: str
    fetched_at: datetime
    content_hash: str
    author: str | None = None
    published_at: datetime | None = None
    translation: Translation | None = None
    declared_canonical: str | None = None  # the page's rel=canonical, when not trusted as url
    attribution: str | None = None  # see Extracted
    attribution_url: str | None = None
    disclaimer: Disclaimer | None = None
    published_source: PublishedSource = PublishedSource.NONE  # where published_at came from
    charset: Charset | None = None  # what the page was decoded with, and why; None: not fetched
    editions: tuple[Edition, ...] = ()  # the page's other language editions on the same site


@dataclass(frozen=True)
class UrlResult:
    """What became of one URL in a run: the attempt to record, and the article if one was made.

    failures: the URL's failed attempts in a row before this one, as the frontier counted them.
    """

    attempt: FetchAttempt
    article: Article | None = None
    failures: int = 0
