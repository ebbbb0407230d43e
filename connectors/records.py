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


@dataclass(frozen=True)
class FetchAttempt:
    """What happened to one URL: a decoded page, or the recorded reason there is none.

    Every discovered URL ends in one of these, so the warehouse's fetch_log can say what became
    of it. outcome is "ok" when html is set; failures are "http_error", "timeout", "empty",
    "not_html", "too_large", "network_error", "redirect_loop"; later stages turn an "ok" into
    "listed" or "malformed" (feeds, sitemaps, API pages), "stored", "duplicate",
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

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"
