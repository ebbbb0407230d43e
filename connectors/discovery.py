"""Link discovery: one small parser per source kind, chosen by `kind:` in sources.yaml."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from lxml import etree

from connectors.config import Source
from connectors.http import HttpClient
from connectors.records import FetchAttempt, Link

_XML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, recover=True, huge_tree=False
)


class MalformedListing(ValueError):
    """A feed, sitemap or API answer that cannot be read as what the source's kind promises."""


@dataclass
class Discovery:
    """Links a source offers now, and every listing request made to find them."""

    links: list[Link] = field(default_factory=list)
    attempts: list[FetchAttempt] = field(default_factory=list)


def discover(source: Source, client: HttpClient, since: date | None = None) -> Discovery:
    """Ask a source for its article links; failures are recorded in attempts, never raised.

    `since` lets paginated kinds stop paging once they reach items older than the window.
    """
    result = Discovery()
    seen: set[str] = set()
    for link in DISCOVERERS[source.kind](source, client, result, since):
        if link.url not in seen:
            seen.add(link.url)
            result.links.append(link)
    return result


def in_window(moment: datetime | None, since: date | None, until: date | None) -> bool:
    """True when a publication time falls within [since, until] (by calendar day, UTC)."""
    if moment is None:
        return True
    day = moment.astimezone(UTC).date() if moment.tzinfo else moment.date()
    return (since is None or day >= since) and (until is None or day <= until)


def _fetch_listing(
    source: Source, client: HttpClient, url: str, result: Discovery, parse: Callable[[str], Any]
) -> Any | None:
    """Fetch and parse one listing, recording the attempt as listed, or malformed."""
    attempt = client.fetch(url, source.id, source.politeness)
    parsed = None
    if attempt.ok:
        try:
            parsed = parse(attempt.text or "")
            attempt = replace(attempt, outcome="listed")
        except MalformedListing as exc:
            attempt = replace(attempt, outcome="malformed", error=str(exc))
    result.attempts.append(replace(attempt, text=None))
    return parsed


def _xml(text: str) -> tuple[etree._Element, str | None]:
    """Parse XML leniently, never fetching external entities: (root, first error if any).

    A truncated feed still yields its complete items; callers decide whether what is left is
    usable.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        raise MalformedListing(f"not XML: {exc}") from exc
    if root is None:
        raise MalformedListing("not XML: no root element")
    return root, (f"broken XML: {parser.error_log[0].message}" if parser.error_log else None)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    return (child for child in element if _local(child) == name)


def _child_text(element: etree._Element, *names: str) -> str | None:
    for name in names:
        for child in _children(element, name):
            if child.text and child.text.strip():
                return child.text.strip()
    return None


def parse_datetime(value: str | None) -> datetime | None:
    """RFC 822 (RSS), ISO 8601 / W3C (Atom, sitemaps) or epoch seconds; None when unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def parse_feed(text: str, source_id: str) -> list[Link]:
    """Links of an RSS 2.0 or Atom feed."""
    root, error = _xml(text)
    if _local(root) == "feed":
        entries = list(_children(root, "entry"))
    elif _local(root) in ("rss", "RDF"):
        channel = next(_children(root, "channel"), root)
        entries = list(_children(channel, "item")) or list(_children(root, "item"))
    else:
        raise MalformedListing(f"not an RSS or Atom feed (root element <{_local(root)}>)")
    if not entries and error:
        raise MalformedListing(error)
    links = []
    for entry in entries:
        url = _child_text(entry, "link") or next(
            (
                link.get("href")
                for link in _children(entry, "link")
                if link.get("rel", "alternate") == "alternate" and link.get("href")
            ),
            None,
        )
        if url:
            links.append(
                Link(
                    source_id,
                    url.strip(),
                    title=_child_text(entry, "title"),
                    published_at=parse_datetime(
                        _child_text(entry, "pubDate", "published", "updated", "date")
                    ),
                )
            )
    return links


def parse_sitemap(text: str) -> tuple[list[str], list[tuple[str, datetime | None]]]:
    """(sub-sitemap URLs, (page URL, lastmod) pairs) of a sitemap index or urlset."""
    root, error = _xml(text)
    kind = _local(root)
    if kind not in ("sitemapindex", "urlset"):
        raise MalformedListing(f"not a sitemap (root element <{kind}>)")
    entries = [
        (loc, parse_datetime(_child_text(entry, "lastmod")))
        for entry in root
        if (loc := _child_text(entry, "loc"))
    ]
    if not entries and error:
        raise MalformedListing(error)
    if kind == "sitemapindex":
        return [loc for loc, _ in entries], []
    return [], entries


def _feed(
    source: Source, client: HttpClient, result: Discovery, since: date | None
) -> Iterator[Link]:
    links = _fetch_listing(
        source,
        client,
        source.url(source.options["feed_url"]),
        result,
        lambda text: parse_feed(text, source.id),
    )
    yield from links or ()


def _sitemap(
    source: Source, client: HttpClient, result: Discovery, since: date | None
) -> Iterator[Link]:
    pending, visited = [source.url(source.options["sitemap_url"])], set()
    while pending:
        url = pending.pop(0)
        if url in visited:
            continue
        visited.add(url)
        parsed = _fetch_listing(source, client, url, result, parse_sitemap)
        if parsed is None:
            continue
        children, pages = parsed
        pending.extend(children)
        for loc, lastmod in pages:
            yield Link(source.id, loc, published_at=lastmod)


def _json_path(document: Any, path: str) -> Any:
    for key in filter(None, path.split(".")):
        document = document.get(key) if isinstance(document, dict) else None
    return document


def _json_api(
    source: Source, client: HttpClient, result: Discovery, since: date | None
) -> Iterator[Link]:
    options = source.options
    fields, cursor = options.get("fields") or {}, options.get("cursor") or {}
    api_url, position = source.url(options["api_url"]), None

    def parse(text: str) -> Any:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MalformedListing(f"not JSON: {exc}") from exc
        items = _json_path(document, options.get("items_path", ""))
        if not isinstance(items, list):
            raise MalformedListing(f"no item list at {options.get('items_path')!r}")
        return document, items

    for _page in range(int(options.get("max_pages", 10))):
        url = api_url
        if position is not None:
            url += ("&" if urlsplit(api_url).query else "?") + urlencode(
                {cursor["param"]: position}
            )
        parsed = _fetch_listing(source, client, url, result, parse)
        if parsed is None:
            return
        document, items = parsed
        oldest = None
        for item in items:
            if not isinstance(item, dict):
                continue
            published = parse_datetime(str(item.get(fields.get("time", ""), "") or ""))
            oldest = published if oldest is None or (published and published < oldest) else oldest
            url_value = item.get(fields.get("url", "")) or (
                options.get("article_url", "").format(id=item.get(fields.get("id", "")))
                if item.get(fields.get("id", ""))
                else None
            )
            if url_value:
                yield Link(
                    source.id,
                    source.url(str(url_value)),
                    item.get(fields.get("title", "")),
                    published,
                )
        position = _json_path(document, cursor.get("next", "")) if cursor else None
        has_more = _json_path(document, cursor.get("has_more", "")) if cursor else False
        if (
            not items
            or not has_more
            or position is None
            or (since and oldest and not in_window(oldest, since, None))
        ):
            return


DISCOVERERS: dict[str, Callable[[Source, HttpClient, Discovery, date | None], Iterator[Link]]] = {
    "feed": _feed,
    "sitemap": _sitemap,
    "json_api": _json_api,
}
