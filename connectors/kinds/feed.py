"""`kind: feed`: an RSS 2.0 or Atom feed. The whole kind is this module: its settings, its
discovery, its parser, and one line of registration (`@register_kind`)."""

from __future__ import annotations

from typing import ClassVar

import lxml.html
from lxml import etree

from connectors.dates import DateReading, PageDates
from connectors.discovery import (
    MalformedListing,
    Walk,
    child_elements,
    child_text,
    fetch_listing,
    listed_url,
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
        read = lambda text, base: parse_feed(text, source.id, source.dates, base)  # noqa: E731
        return await fetch_listing(walk, url, read) or []


def _plain(markup: str | None) -> str | None:
    """A feed description's text without its markup (RSS descriptions often hold HTML)."""
    if not markup:
        return None
    try:
        text = lxml.html.fragment_fromstring(markup, create_parent="div").text_content()
    except (etree.ParserError, ValueError):
        text = markup
    return (
        "\n".join(line for line in (" ".join(p.split()) for p in text.splitlines()) if line) or None
    )


def _permalink(entry: etree._Element) -> str | None:
    """An RSS item's <guid> as its link, when the guid is a permalink (isPermaLink true, the
    RSS default) that is a web address or a path on the feed's site ("/news/1"; an id such
    as "12345" is no link): some feeds give no <link> but that."""
    for guid in child_elements(entry, "guid"):
        value = (guid.text or "").strip()
        if guid.get("isPermaLink", "true").lower() == "true" and value.startswith(_WEB):
            return listed_url(value, guid.base)
    return None


_WEB = ("http://", "https://", "/")


def _link(entry: etree._Element) -> str | None:
    """An item's article URL, resolved against the feed's address and any xml:base: RSS
    <link> text, else Atom's alternate <link href>, else a permalink <guid>."""
    for link in child_elements(entry, "link"):
        if link.text and link.text.strip():
            return listed_url(link.text, link.base)
    for link in child_elements(entry, "link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return listed_url(link.get("href", ""), link.base)
    return _permalink(entry)


def parse_feed(
    text: str, source_id: str, reading: DateReading | None = None, base: str | None = None
) -> list[Link]:
    """Links of an RSS 2.0 or Atom feed, dated as the source prints dates (see connectors.dates);
    `base` is the feed's address, for relative links."""
    root, error = xml_root(text, base)
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
        if url := _link(entry):
            links.append(
                Link(
                    source_id,
                    url,
                    title=child_text(entry, "title"),
                    summary=_plain(child_text(entry, "description", "summary", "content")),
                    published_at=dates.timestamp(
                        child_text(entry, "pubDate", "published", "updated", "date")
                    ),
                )
            )
    if error:
        raise MalformedListing(error, partial=links)
    return links
