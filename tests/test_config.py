"""sources.yaml: the same entries serve the real sites and the bundled fixture site."""

import pytest

from connectors.config import (
    ConfigError,
    load_sources,
    parse_overrides,
    select_sources,
    source_for_url,
)
from connectors.kinds import kinds


def test_real_sources_point_at_the_real_sites():
    sources = {s.id: s for s in load_sources(base_url_override="")}
    assert (
        sources["caucasian-knot"].url("/articles.rss") == "https://www.kavkaz-uzel.eu/articles.rss"
    )
    assert sources["toutiao"].base_url == "https://www.toutiao.com"
    assert {s.kind for s in sources.values()} <= set(kinds())


def test_base_url_override_keeps_every_path_under_the_source_id():
    sources = {s.id: s for s in load_sources(base_url_override="http://127.0.0.1:9000/")}
    assert sources["caucasian-knot"].url("/articles.rss") == (
        "http://127.0.0.1:9000/caucasian-knot/articles.rss"
    )


def test_politeness_overrides_apply_to_every_source_with_their_types():
    overrides = parse_overrides("timeout_seconds=2.5,retries=1")
    for source in load_sources(politeness_overrides=overrides):
        assert source.politeness.timeout_seconds == 2.5
        assert source.politeness.retries == 1 and isinstance(source.politeness.retries, int)
    with pytest.raises(ConfigError, match="bad politeness override"):
        parse_overrides("speed=fast")


def test_declared_language_follows_the_site_section():
    caliber = select_sources(load_sources(base_url_override=""), ["caliber-az"])[0]
    assert caliber.declared_language("https://caliber.az/en/post/x") == "en"
    assert caliber.declared_language("https://caliber.az/az/post/x") == "az"
    assert caliber.declared_language("https://caliber.az/post/x") == "ru"


def test_unknown_source_id_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown source id"):
        select_sources(load_sources(), ["no-such-source"])


def test_source_for_url_matches_by_base_url_then_host():
    sources = load_sources(base_url_override="")
    assert source_for_url(sources, "https://www.kavkaz-uzel.eu/articles/1/").id == "caucasian-knot"
    english = source_for_url(sources, "https://www.eng.kavkaz-uzel.eu/articles/71175/")
    assert english.id == "caucasian-knot-en"
    assert source_for_url(sources, "https://example.org/") is None


def test_malformed_sources_file_is_reported(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - id: x\n    kind: telepathy\n    base_url: https://x\n")
    with pytest.raises(ConfigError, match="unknown kind"):
        load_sources(path)
