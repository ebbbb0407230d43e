"""Extraction: the article's own text and metadata, none of the site's furniture."""

from pathlib import Path

import pytest

from connectors.config import Cleanup, load_sources
from connectors.pages import unshell
from connectors.records import Disclaimer
from fixture_site import manifest
from fixture_site.server import find_file
from processing.extract import ExtractionError, extract

SOURCES = {s.id: s for s in load_sources(base_url_override="http://fixture")}
PAGES = Path(__file__).parent / "pages"


def _page(entry) -> tuple[str, str]:
    """A fixture page's HTML as the pipeline extracts it (a JavaScript shell rebuilt from its
    JSON, as the ingest does), and its URL."""
    url = f"http://fixture/{entry['source_id']}{entry['path']}"
    html = find_file(f"/{entry['source_id']}{entry['path']}").read_text(encoding="utf-8")
    html = html.replace("{{base}}", f"http://fixture/{entry['source_id']}")
    source = SOURCES[entry["source_id"]]
    if spec := source.page_json:
        html = unshell(html, spec, url, source.declared_language(url)) or html
    return html, url


FURNITURE = {
    "caucasian-knot": ["ДАННОЕ СООБЩЕНИЕ", "Скачайте приложение", "Знаете больше", "Комментарии"],
    "caucasian-knot-en": [
        "THIS MESSAGE (MATERIAL)",
        "FOREIGN AGENT",
        "Download the Caucasian Knot app",
        "Subscribe",
        "Do you know more",
        "originally published on the Russian page",
        "See also",
        "Most read",
        "Share:",
        "Comments",
    ],
    "caliber-az": ["Must read", "Stay Ahead", "Просмотров", "Views:", "Baxış sayı"],
    "toutiao": ["下载头条APP", "原文：", "声明：", "举报"],
    "toutiao-mobile": ["原文：", "声明："],
}


@pytest.mark.parametrize("entry", manifest(), ids=lambda e: e["path"])
def test_fixture_articles_come_out_clean_with_their_metadata(entry):
    html, url = _page(entry)
    result = extract(html, url, SOURCES[entry["source_id"]].cleanup)
    assert result.title == entry["title"]
    assert result.published_at.date().isoformat() == entry["published"]
    assert result.published_at.tzinfo is not None
    assert result.canonical_url == url
    paragraphs = result.text.split("\n")
    assert len(paragraphs) >= 4 and all(p.strip() == p and p for p in paragraphs)
    for phrase in FURNITURE[entry["source_id"]]:
        assert phrase not in result.text, phrase


def test_the_declared_language_is_the_pages_own():
    declared = {e["language"]: extract(*_page(e)).declared_language for e in manifest()}
    assert declared == {"ru": "ru", "en": "en", "az": "az", "zh": "zh"}


def test_per_source_rules_remove_what_generic_extraction_keeps():
    entry = next(e for e in manifest() if e["source_id"] == "caucasian-knot-en")
    html, url = _page(entry)
    phrase = "Subscribe to the Caucasian Knot"
    assert phrase in extract(html, url).text
    assert phrase not in extract(html, url, SOURCES["caucasian-knot-en"].cleanup).text


@pytest.mark.parametrize(
    ("source_id", "disclaimer", "attribution", "origin"),
    [
        ("caucasian-knot", Disclaimer.FOREIGN_AGENT, "Автор: ", None),
        (
            "caucasian-knot-en",
            Disclaimer.FOREIGN_AGENT,
            "This article was originally published on the Russian page",
            "http://fixture/caucasian-knot-en/russian/articles/",
        ),
        ("toutiao", Disclaimer.PUBLISHER_NOTICE, "原文：", "https://news.example.com/ru/"),
    ],
)
def test_provenance_is_set_apart_without_any_per_source_rule(
    source_id, disclaimer, attribution, origin
):
    entry = next(e for e in manifest() if e["source_id"] == source_id)
    result = extract(*_page(entry), Cleanup())
    assert result.disclaimer == disclaimer
    assert result.attribution.startswith(attribution)
    assert attribution not in result.text
    assert "ИНОСТРАННОГО АГЕНТА" not in result.text and "FOREIGN AGENT" not in result.text
    assert "声明" not in result.text
    if origin:
        assert result.attribution_url.startswith(origin)
    else:
        assert result.attribution_url is None


def test_reader_comments_are_excluded():
    entry = next(e for e in manifest() if e["source_id"] == "caucasian-knot")
    html, url = _page(entry)
    assert 'class="comments"' in html
    text = extract(html, url, Cleanup()).text
    comment = html.split('class="comments"')[1].split("<p>")[1].split("</p>")[0]
    assert comment not in text


@pytest.mark.parametrize(
    "html",
    ["", "   ", "<html><body><nav>Главная | Новости</nav></body></html>", "\x00\x01\x02"],
)
def test_pages_without_an_article_raise_a_clear_error(html):
    with pytest.raises(ExtractionError):
        extract(html, "http://fixture/x")


def test_rules_that_drop_everything_are_reported_not_stored():
    entry = manifest()[0]
    with pytest.raises(ExtractionError, match="cleanup"):
        extract(*_page(entry), Cleanup(drop_patterns=(".",)))


def test_a_story_that_precision_removes_is_read_again_in_trafilaturas_balanced_mode():
    """trafilatura's precision rules drop a container named "paywall" that holds the whole
    story; what is left is shorter than trafilatura's own minimum, so the page is read again
    in its balanced mode and the story comes out, not the reprints notice alone."""
    html = (PAGES / "paywall_story.html").read_text(encoding="utf-8")
    result = extract(html, "https://www.barrons.com/articles/home-depot-stock")
    assert "Our third-quarter results reflected broad-based growth" in result.text
    assert "Write to" in result.text and len(result.text.split("\n")) >= 4
