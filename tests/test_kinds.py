"""Source kinds: one registry of classes, each with its typed settings and its discovery."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from connectors.config import ConfigError, Politeness, load_sources, select_sources, sources_schema
from connectors.discovery import Walk, discover
from connectors.http import HttpClient
from connectors.kinds import SourceKind, kind_class, kinds, register_kind
from connectors.records import Link
from fixture_site import manifest
from processing.page import process_page

FAST = Politeness(timeout_seconds=2.0, retries=0, delay_seconds=0)


@register_kind("seed_list")
class SeedList(SourceKind):
    """The example of the README: articles an analyst pins by hand, as a kind of its own."""

    urls: list[str]

    async def discover(self, walk: Walk) -> list[Link]:
        """The pinned URLs, as they are: nothing to fetch."""
        return [Link(walk.source.id, walk.source.url(url)) for url in self.urls]


def _mobile(site) -> object:
    [source] = select_sources(
        load_sources(base_url_override=site.base_url, politeness_overrides={}), ["toutiao-mobile"]
    )
    return replace(source, politeness=FAST)


def test_the_built_in_kinds_are_one_registry():
    assert {"feed", "sitemap", "html_listing", "json_api", "toutiao_info"} <= set(kinds())
    assert kind_class("toutiao_info").name == "toutiao_info"
    with pytest.raises(KeyError, match="unknown kind 'rss2'; known: feed"):
        kind_class("rss2")


@pytest.mark.anyio
async def test_adding_a_kind_is_one_class(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - id: pinned\n    kind: seed_list\n    base_url: https://caliber.az\n"
        "    urls: [/en/post/one, https://www.kavkaz-uzel.eu/articles/1/]\n",
        encoding="utf-8",
    )
    [pinned] = load_sources(path, base_url_override="", politeness_overrides={})
    assert isinstance(pinned.options, SeedList)
    async with HttpClient() as client:
        found = await discover(pinned, client)
    assert [link.url for link in found.links] == [
        "https://caliber.az/en/post/one",
        "https://www.kavkaz-uzel.eu/articles/1/",
    ]
    assert (
        "seed_list"
        in sources_schema()["properties"]["sources"]["items"]["discriminator"]["mapping"]
    )
    path.write_text(path.read_text().replace("urls:", "url:"), encoding="utf-8")
    with pytest.raises(ConfigError, match="source pinned: url: unknown field .did you mean urls"):
        load_sources(path)


def test_a_kind_name_is_taken_once_and_only_by_a_kind_that_discovers():
    with pytest.raises(ValueError, match="already registered"):
        register_kind("feed")(SeedList)
    with pytest.raises(TypeError, match="is not a SourceKind"):
        register_kind("thing")(dict)
    with pytest.raises(TypeError, match="kind 'mute': Mute has no discover method"):

        @register_kind("mute")
        class Mute(SourceKind):
            url: str


@pytest.mark.anyio
async def test_toutiao_info_lists_the_mobile_feed_and_links_the_info_answers(site):
    source = _mobile(site)
    articles = {e["path"]: e for e in manifest() if e["source_id"] == "toutiao-mobile"}
    async with HttpClient() as client:
        everything = await discover(source, client)
        recent = await discover(source, client, datetime(2025, 10, 4, tzinfo=UTC))
    found = {link.url.removeprefix(source.base_url): link for link in everything.links}
    assert set(found) == set(articles)
    for path, link in found.items():
        assert link.title == articles[path]["title"]
        assert link.published_at.date().isoformat() == articles[path]["published"]
    # two list pages, each kept with its body for the raw archive; a backfill stops early
    assert [(a.kind, a.outcome) for a in everything.attempts] == [("listing", "listed")] * 2
    assert all(json.loads(a.text)["data"] for a in everything.attempts)
    assert len(recent.attempts) == 1
    assert "max_behot_time=1759482900" in everything.attempts[1].url


def test_toutiao_info_answers_become_clean_articles(site):
    source = _mobile(site)
    for entry in (e for e in manifest() if e["source_id"] == "toutiao-mobile"):
        url = source.url(entry["path"])
        response = httpx.get(url)
        assert response.headers["content-type"].startswith("application/json")
        result = process_page(source, url, response.text, "application/json", datetime.now(UTC))
        article = result.article
        assert article is not None, result.error
        answer = response.json()["data"]
        assert (article.title, article.language, article.url) == (entry["title"], "zh", url)
        assert article.published_at == datetime.fromtimestamp(answer["publish_time"], UTC)
        paragraphs = article.text.split("\n")
        assert len(paragraphs) == 4 and paragraphs[0] in answer["content"]
        assert "原文" not in article.text and "声明" not in article.text
