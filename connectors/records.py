"""Plain records that connectors hand to the rest of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Link:
    """An article URL found by discovery, with what the listing already told us about it."""

    source_id: str
    url: str
    title: str | None = None
    published_at: datetime | None = None
    modified_at: datetime | None = None  # a sitemap's lastmod: an upper bound of publication


@dataclass(frozen=True)
class Validators:
    """What a server said identifies a response (ETag, Last-Modified), for conditional GETs."""

    etag: str | None = None
    last_modified: str | None = None

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)


@dataclass(frozen=True)
class FetchAttempt:
    """What happened to one URL: a decoded page, or the recorded reason there is none.

    Every discovered URL ends in one of these, so the warehouse's fetch_log can say what became
    of it. outcome is "ok" when text is set, "not_modified" when a conditional GET was answered
    304, "skipped" when robots.txt disallows the URL; failures are "http_error", "timeout",
    "empty", "not_html", "too_large", "network_error", "redirect_loop", and "crashed" when the task
    handling the URL failed even after its retries; later stages turn an "ok"
    into "listed" or "malformed" (feeds, sitemaps, API pages), "stored", "duplicate",
    "no_content" or "skipped" (articles).
    """

    source_id: str
    url: str
    outcome: str
    attempted_at: datetime
    http_status: int | None = None
    content_type: str | None = None
    text: str | None = None
    error: str | None = None
    validators: Validators = Validators()
    kind: str = "article"  # or "listing": a feed, sitemap, listing or API page

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"
