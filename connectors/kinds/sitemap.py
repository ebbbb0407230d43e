"""`kind: sitemap`: a sitemap, sitemap index (also gzipped) or Google News sitemap."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from connectors.discovery import Walk, fetch_listing, older, parse_sitemap, record_cap
from connectors.kinds import SourceKind, register_kind
from connectors.records import Link, PublishedSource
from connectors.urls import web_url


@register_kind("sitemap")
class Sitemap(SourceKind):
    """A sitemap or sitemap index; backfills skip sub-sitemaps last changed before the window."""

    dates_from: ClassVar[PublishedSource] = PublishedSource.SITEMAP
    sitemap_url: str
    """Path under base_url, or an absolute URL."""

    async def discover(self, walk: Walk) -> list[Link]:
        """Walk the index level by level (sub-sitemaps fetched together), skipping old ones.

        At most max_sitemaps sub-sitemaps are followed, max_sitemap_depth levels down; a cap
        that cuts the walk short is recorded as `capped`.
        """
        limits = walk.source.limits
        links: list[Link] = []
        level, visited = [_one_spelling(walk.source.url(self.sitemap_url))], set()
        followed, depth = 0, 0
        while level:
            visited.update(level)
            read = lambda text, base: parse_sitemap(text, walk.source.dates, base)  # noqa: E731
            parsed = await asyncio.gather(*(fetch_listing(walk, u, read) for u in level))
            level = []
            for children, pages in filter(None, parsed):
                level += [
                    loc
                    for loc, lastmod in ((_one_spelling(loc), at) for loc, at in children)
                    if loc not in visited and not older(lastmod, walk.stop_before)
                ]
                links += [
                    Link(walk.source.id, loc, published_at=published, modified_at=lastmod)
                    for loc, lastmod, published in pages
                ]
            level = list(dict.fromkeys(level))
            depth += 1
            if level and depth > limits.max_sitemap_depth:
                error = (
                    f"{len(level)} sub-sitemaps {depth} levels down not followed "
                    f"(max_sitemap_depth {limits.max_sitemap_depth})"
                )
                record_cap(walk, level[0], error)
                break
            room = limits.max_sitemaps - followed
            if len(level) > room:
                error = (
                    f"{followed + len(level)} sub-sitemaps listed, {limits.max_sitemaps} "
                    "followed (max_sitemaps)"
                )
                record_cap(walk, level[room], error)
                level = level[:room]
            followed += len(level)
        return links


def _one_spelling(loc: str) -> str:
    """A sitemap's URL in connectors.urls' one spelling, so an index that lists itself as
    127.1, 0x7f000001 or with a final dot is still the sitemap already visited; a bad one is
    left as it is, for the fetch to refuse with its reason."""
    checked = web_url(loc)
    return checked if isinstance(checked, str) else loc
