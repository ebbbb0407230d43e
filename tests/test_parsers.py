"""Page parsers: the default, the embedded-JSON one, and a per-site class named in sources.yaml."""

from __future__ import annotations

import json
import re
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from site_parsers import CaliberParser

from connectors.config import ConfigError, load_sources
from processing.page import process_page
from processing.parsers import EmbeddedJsonParser, TrafilaturaParser, parser_for

PAGE = "/en/post/baku-and-moscow-test-a-cautious-thaw-in-trade-talks"
NOW = datetime(2025, 10, 8, tzinfo=UTC)


def _sources(tmp_path: Path, site_url: str, **settings: str) -> list:
    lines = "".join(f"    {key}: {value}\n" for key, value in settings.items())
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n"
        "  - id: caliber-az\n"
        "    kind: sitemap\n"
        "    base_url: https://caliber.az\n"
        "    sitemap_url: /sitemap.xml\n"
        "    language: en\n" + lines,
        encoding="utf-8",
    )
    return load_sources(path, base_url_override=site_url, politeness_overrides={})


def test_a_per_site_parser_named_in_sources_yaml_reads_the_page(site, tmp_path):
    [caliber] = _sources(tmp_path, site.base_url, parser="site_parsers:CaliberParser")
    assert caliber.parser is CaliberParser and isinstance(parser_for(caliber), CaliberParser)
    url = caliber.url(PAGE)
    page = httpx.get(url).text
    result = process_page(caliber, url, page, "text/html", NOW)
    article = result.article
    assert article is not None, result.error
    story = re.search(r'<div class="post_body">(.*?)<div class="newsletter">', page, re.S)[1]
    assert article.text.split("\n")[0] == re.search(r"<p>(.*?)</p>", story)[1]
    assert len(article.text.split("\n")) == 6  # the body's paragraphs, the newsletter box not
    assert "Stay Ahead" not in article.text and "Views:" not in article.text
    assert article.title == "Baku and Moscow Test a Cautious Thaw in Trade Talks"
    assert article.author == "Orkhan Jafarli"
    assert article.published_at.isoformat() == "2025-10-03T14:20:00+04:00"
    assert (article.language, article.url) == ("en", url)


def test_a_page_the_per_site_parser_cannot_read_is_a_recorded_failure(site, tmp_path):
    [caliber] = _sources(tmp_path, site.base_url, parser="site_parsers:CaliberParser")
    result = process_page(caliber, caliber.url("/x"), "<html><p>hi</p></html>", None, NOW)
    assert (result.outcome, result.error) == ("no_content", "no .post_body paragraphs")


def test_the_page_path_runs_in_a_worker_process_with_the_sites_parser(site, tmp_path):
    [caliber] = _sources(tmp_path, site.base_url, parser="site_parsers:CaliberParser")
    url = caliber.url(PAGE)
    page = httpx.get(url).text
    with ProcessPoolExecutor(max_workers=1) as pool:
        remote = pool.submit(process_page, caliber, url, page, "text/html", NOW).result()
    assert remote == process_page(caliber, url, page, "text/html", NOW)
    assert remote.article is not None


def test_without_a_parser_trafilatura_reads_html_and_refuses_json(site, tmp_path):
    [caliber] = _sources(tmp_path, site.base_url)
    assert type(parser_for(caliber)) is TrafilaturaParser
    url = caliber.url(PAGE)
    result = process_page(caliber, url, '{"data": {}}', "application/json", NOW)
    assert (result.outcome, result.error) == ("not_html", "content type application/json")
    article = process_page(caliber, url, httpx.get(url).text, "text/html", NOW).article
    assert article.title == "Baku and Moscow Test a Cautious Thaw in Trade Talks"


def test_page_json_without_a_script_reads_a_json_answer(site, tmp_path):
    spec = "{title: data.title, content: data.body, time: data.time}"
    [caliber] = _sources(tmp_path, site.base_url, page_json=spec)
    assert type(parser_for(caliber)) is EmbeddedJsonParser
    page = httpx.get(caliber.url(PAGE)).text
    story = re.search(r'<div class="post_body">(.*?)<div class="newsletter">', page, re.S)[1]
    body = "".join(re.findall(r"<p>.*?</p>", story))
    answer = json.dumps({"data": {"title": "Baku talks", "body": body, "time": 1759486800}})
    url = caliber.url("/api/article/1")
    article = process_page(caliber, url, answer, "application/json", NOW).article
    assert article.title == "Baku talks" and article.url == url
    assert article.text.split("\n") == re.findall(r"<p>(.*?)</p>", body)
    assert article.published_at == datetime(2025, 10, 3, 10, 20, tzinfo=UTC)
    assert article.language == "en"


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("site_parsers:Missing", "module site_parsers has no Missing"),
        ("no_such_module:Parser", "cannot import no_such_module: No module named 'no_such_module'"),
        ("collections:OrderedDict", "is not a connectors.page_parser.PageParser subclass"),
        ("site_parsers", "is not of the form module:Class"),
    ],
)
def test_a_parser_that_cannot_be_loaded_fails_when_sources_yaml_loads(tmp_path, spec, problem):
    with pytest.raises(ConfigError) as error:
        _sources(tmp_path, "", parser=spec)
    assert str(error.value).startswith("sources.yaml: source caliber-az: parser: ")
    assert problem in str(error.value)
