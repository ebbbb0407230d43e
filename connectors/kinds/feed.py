"""`kind: feed`: an RSS 2.0 or Atom feed."""

from __future__ import annotations

from typing import ClassVar

from connectors.discovery import Walk, fetch_listing, parse_feed
from connectors.kinds import SourceKind, register_kind
from connectors.records import Link, PublishedSource


@register_kind("feed")
class Feed(SourceKind):
    """A site's RSS or Atom feed: each item is an article link, dated by the feed."""

    dates_from: ClassVar[PublishedSource] = PublishedSource.FEED
    feed_url: str
    """Path under base_url, or an absolute URL."""

    async def discover(self, walk: Walk) -> list[Link]:
        """The feed's items, in feed order."""
        url = walk.source.url(self.feed_url)
        source = walk.source
        read = lambda text: parse_feed(text, source.id, source.dates)  # noqa: E731
        return await fetch_listing(walk, url, read) or []
