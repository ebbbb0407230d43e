"""JavaScript-shell article pages: the article is read from the JSON blob the page embeds."""

from datetime import UTC, datetime

import httpx
import pytest

from connectors.config import load_sources, select_sources
from connectors.pages import unshell
from fixture_site import manifest
from processing.extract import ExtractionError, extract
from processing.page import process_page

SHELL = "/article/7559300187321107466/"


@pytest.fixture(scope="module")
def toutiao(site):
    [source] = select_sources(load_sources(base_url_override=site.base_url), ["toutiao"])
    return source


def test_a_shell_page_becomes_the_article_its_json_holds(site, toutiao):
    url = toutiao.url(SHELL)
    shell = httpx.get(url).text
    with pytest.raises(ExtractionError):
        extract(shell, url, toutiao.cleanup)  # the HTML alone holds no article
    page = unshell(shell, toutiao.page_json, url)
    article = process_page(toutiao, url, shell, "text/html", datetime.now(UTC)).article
    assert article is not None
    assert article.title == "阿塞拜疆学者：里海地区合作需要更多务实项目"
    assert (article.language, article.url) == ("zh", url)
    assert 'content="欧亚观察者"' in page
    assert article.published_at.isoformat() == "2025-10-07T06:45:00+00:00"
    paragraphs = article.text.split("\n")
    assert len(paragraphs) == 4 and paragraphs[0].startswith("阿塞拜疆一位国际关系学者")
    assert "原文" not in article.text and "声明" not in article.text


def test_ordinary_pages_are_left_alone(site, toutiao):
    entry = next(e for e in manifest() if e["source_id"] == "toutiao" and e["path"] != SHELL)
    page = httpx.get(toutiao.url(entry["path"])).text
    assert unshell(page, toutiao.page_json, toutiao.url(entry["path"])) is None
