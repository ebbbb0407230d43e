"""`kind: json_api`: a paginated JSON list of articles, paged back in time by a cursor."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from connectors.config import Source
from connectors.dates import PageDates
from connectors.discovery import (
    MalformedListing,
    Walk,
    fetch_listing,
    json_path,
    listed_url,
    older,
)
from connectors.kinds import SourceKind, register_kind
from connectors.records import Link


class ItemFields(BaseModel):
    """Which keys of a list item hold its URL (or its id, for article_url), title and time."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
    url: str | None = None
    id: str | None = None
    title: str | None = None
    time: str | None = None
    """Epoch seconds or ISO 8601."""


class Cursor(BaseModel):
    """How to ask for the next page: the query parameter, and where its value and the
    "more to come" flag are in the answer (dotted paths)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
    param: str
    next: str
    has_more: str


@dataclass(frozen=True)
class ApiPage:
    """One page of a JSON list: its links, and where the next page is."""

    links: list[Link]
    oldest: datetime | None
    position: Any
    has_more: bool


@register_kind("json_api")
class JsonApi(SourceKind):
    """A JSON list of articles (a publisher feed, a search API), newest first."""

    api_url: str
    """Path under base_url, or an absolute URL."""
    items_path: str = ""
    """Dotted path of the item list in the answer; "" for the whole answer."""
    fields: ItemFields = ItemFields()
    article_url: str | None = None
    """An item's URL from its id, e.g. /article/{id}/."""
    cursor: Cursor | None = None
    """How to ask for the next page; none: the list has one page."""
    max_pages: int = Field(10, ge=1)

    async def discover(self, walk: Walk) -> list[Link]:
        """Page back in time by cursor until the items get older than wanted."""
        source = walk.source
        api_url, position = source.url(self.api_url), None
        links: list[Link] = []
        for _page in range(self.max_pages):
            url = api_url
            if position is not None and self.cursor:
                separator = "&" if urlsplit(api_url).query else "?"
                url += separator + urlencode({self.cursor.param: position})
            page = await fetch_listing(
                walk, url, lambda text, base: self.read_page(text, source, base)
            )
            if page is None:
                break
            links += page.links
            position = page.position
            if not page.has_more or position is None or older(page.oldest, walk.stop_before):
                break
        return links

    def read_page(self, text: str, source: Source, base: str | None = None) -> ApiPage:
        """The links of one page of the list, read as the fields and cursor say; an item's
        own relative URL resolves against the list's address `base`."""
        try:
            document = json.loads(text)
        except (ValueError, RecursionError) as exc:  # ValueError: also a number of 4300+ digits
            raise MalformedListing(f"not JSON: {exc}") from exc
        items = json_path(document, self.items_path)
        if not isinstance(items, list):
            raise MalformedListing(f"no item list at {self.items_path!r}")
        links, oldest, dates = [], None, PageDates(source.dates)
        for item in filter(lambda item: isinstance(item, dict), items):
            stamp = self._value(item, self.fields.time)
            published = dates.timestamp(str(stamp or ""))
            if published and (oldest is None or published < oldest):
                oldest = published
            if url := self.item_url(item, source, base):
                title = self._value(item, self.fields.title)
                links.append(Link(source.id, url, title, published))
        cursor = self.cursor
        position = json_path(document, cursor.next) if cursor else None
        has_more = bool(json_path(document, cursor.has_more)) if cursor else False
        return ApiPage(links, oldest, position, has_more and bool(items))

    def item_url(self, item: dict[str, Any], source: Source, base: str | None) -> str | None:
        """An item's article URL: its own URL field (from the web: resolved as a link on the
        list's page), else article_url (from sources.yaml: under base_url) filled with its id.
        The web's values are taken as they must be: a URL is a string, an id a string or a
        number, percent-encoded into the template (an id of "../admin" or "//evil.example"
        stays inside its path segment); anything else (an object, a list) gives no link."""
        url = self._value(item, self.fields.url)
        if isinstance(url, str) and url:
            return listed_url(url, base or source.base_url)
        item_id = self._value(item, self.fields.id)
        if not self.article_url or isinstance(item_id, bool) or item_id in ("", None):
            return None
        if isinstance(item_id, str | int):
            return source.url(self.article_url.format(id=quote(str(item_id), safe="")))
        return None

    @staticmethod
    def _value(item: dict[str, Any], key: str | None) -> Any:
        return item.get(key) if key else None
