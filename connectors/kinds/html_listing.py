"""`kind: html_listing`: index or archive pages (?page=N) of a site without a feed."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from pydantic import Field, field_validator

from connectors.discovery import Walk, fetch_listing, older, parse_listing
from connectors.kinds import SourceKind, register_kind
from connectors.records import Link


@register_kind("html_listing")
class HtmlListing(SourceKind):
    """Numbered listing pages, newest first; each item is dated by <time>, its URL or its text."""

    listing_url: str
    """Listing page URL with a {page} number, e.g. /rubric/1?page={page}."""
    item_selector: str
    """CSS selector of one item of the list."""
    link_pattern: str
    """Regular expression the article link of an item matches."""
    date_selector: str | None = None
    """CSS selector of an item's date, when the item's other text could be read as one."""
    first_page: int = 1
    max_pages: int = Field(10, ge=1)

    @field_validator("link_pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bad regular expression {pattern!r}: {exc}") from exc
        return pattern

    async def discover(self, walk: Walk) -> list[Link]:
        """Page through the listing until a page adds nothing or its items get too old."""
        source = walk.source
        links: list[Link] = []
        for number in range(self.first_page, self.first_page + self.max_pages):
            url = source.url(self.listing_url.format(page=number))
            page = await fetch_listing(
                walk,
                url,
                lambda text, base: parse_listing(
                    text,
                    base,
                    self.item_selector,
                    self.link_pattern,
                    source.dates,
                    datetime.now(UTC),  # relative dates count from the page's arrival
                    self.date_selector,
                ),
            )
            known = {link.url for link in links}
            fresh = [
                replace(link, source_id=source.id) for link in page or () if link.url not in known
            ]
            links += fresh
            dates = [link.published_at for link in fresh if link.published_at]
            if not fresh or (dates and older(min(dates), walk.stop_before)):
                break
        return links
