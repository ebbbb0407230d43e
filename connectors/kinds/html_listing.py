"""`kind: html_listing`: index or archive pages (?page=N) of a site without a feed."""

from __future__ import annotations

import re
from dataclasses import replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    timezone: str = "UTC"
    """Time zone of the dates the pages print (IANA name, e.g. Europe/Moscow)."""
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

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r}") from exc
        return name

    async def discover(self, walk: Walk) -> list[Link]:
        """Page through the listing until a page adds nothing or its items get too old."""
        source, tz = walk.source, ZoneInfo(self.timezone)
        links: list[Link] = []
        for number in range(self.first_page, self.first_page + self.max_pages):
            url = source.url(self.listing_url.format(page=number))
            page = await fetch_listing(
                walk,
                url,
                lambda text, url=url: parse_listing(
                    text, url, self.item_selector, self.link_pattern, tz
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
