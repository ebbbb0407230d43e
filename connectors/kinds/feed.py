"""`kind: feed`: an RSS 2.0 or Atom feed. The whole kind is this module: its settings, its
discovery, its parser, and one line of registration (`@register_kind`)."""

from __future__ import annotations

from typing import ClassVar

from connectors.dates import DateReading, PageDates
from connectors.discovery import (
    MalformedListing,
    Walk,
    child_elements,
    child_text,
    fetch_listing,
    local_name,
    xml_root,
)
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


def parse_feed(text: str, source_id: str, reading: DateReading | None = None) -> list[Link]:
    """Links of an RSS 2.0 or Atom feed, dated as the source prints dates (see connectors.dates)."""
    root, error = xml_root(text)
    if local_name(root) == "feed":
        entries = list(child_elements(root, "entry"))
    elif local_name(root) in ("rss", "RDF"):
        channel = next(child_elements(root, "channel"), root)
        entries = list(child_elements(channel, "item")) or list(child_elements(root, "item"))
    else:
        raise MalformedListing(f"not an RSS or Atom feed (root element <{local_name(root)}>)")
    if not entries and error:
        raise MalformedListing(error)
    links, dates = [], PageDates(reading or DateReading())
    for entry in entries:
        url = child_text(entry, "link") or next(
            (
                link.get("href")
                for link in child_elements(entry, "link")
                if link.get("rel", "alternate") == "alternate" and link.get("href")
            ),
            None,
        )
        if url:
            links.append(
                Link(
                    source_id,
                    url.strip(),
                    title=child_text(entry, "title"),
                    published_at=dates.timestamp(
                        child_text(entry, "pubDate", "published", "updated", "date")
                    ),
                )
            )
    if error:
        raise MalformedListing(error, partial=links)
    return links
