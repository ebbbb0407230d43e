"""sources.yaml: the same entries serve the real sites and the bundled fixture site."""

import json
import pickle
import tracemalloc
from dataclasses import FrozenInstanceError

import pytest
from pydantic import ValidationError

from connectors.config import (
    ConfigError,
    Politeness,
    Source,
    load_sources,
    parse_overrides,
    select_sources,
    source_for_url,
)
from connectors.dates import DateOrder
from connectors.kinds import kinds
from flows.cli import main


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
    with pytest.raises(
        ConfigError, match="'max_per_host=0': Input should be greater than or equal"
    ):
        parse_overrides("max_per_host=0")


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


def _load(tmp_path, text: str, name: str = "sources.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_sources(path, base_url_override="", politeness_overrides={})


def _problems(tmp_path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, text)
    return str(error.value).splitlines()


FEED = "  - id: caucasian-knot\n    kind: feed\n    base_url: https://www.kavkaz-uzel.eu\n"


def test_a_misspelt_key_names_the_file_the_source_and_the_field(tmp_path):
    problems = _problems(tmp_path, "sources:\n" + FEED + "    feed_ur: /articles.rss\n")
    assert problems == [
        "sources.yaml: source caucasian-knot: feed_url: required field missing",
        "sources.yaml: source caucasian-knot: feed_ur: unknown field (did you mean feed_url?)",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "defaults:\n  politeness: {delay: 2}\nsources: []\n",
            "sources.yaml: defaults: politeness.delay: unknown field (did you mean delay_seconds?)",
        ),
        (
            "defaults: [1]\nsources: []\n",
            "sources.yaml: defaults: should be a mapping (got [1])",
        ),
        (
            "sources:\n" + FEED + "    feed_url: /rss\n    politeness: {retries: many}\n",
            "sources.yaml: source caucasian-knot: politeness.retries: Input should be a valid "
            "integer, unable to parse string as an integer (got 'many')",
        ),
        (
            "sources:\n" + FEED + "    feed_url: /rss\n    limits: {max_urls_per_run: 0}\n",
            "sources.yaml: source caucasian-knot: limits.max_urls_per_run: Input should be "
            "greater than or equal to 1 (got 0)",
        ),
        (
            "sources:\n" + FEED + "    feed_url: /rss\n    cleanup: {drop_patterns: ['(']}\n",
            "sources.yaml: source caucasian-knot: cleanup.drop_patterns: bad regular expression "
            "'(': missing ), unterminated subpattern at position 0 (got ['('])",
        ),
        (
            "sources:\n  - id: x\n    kind: telepathy\n    base_url: https://x.org\n",
            "sources.yaml: source x: kind: unknown kind 'telepathy'; known: feed, html_listing",
        ),
        (
            "sources:\n  - id: x\n    kind: json_api\n    base_url: https://x.org\n"
            "    api_url: /api\n    cursor: {param: p, nxt: n, has_more: m}\n",
            "sources.yaml: source x: cursor.nxt: unknown field (did you mean next?)",
        ),
        (
            "sources:\n  - kind: feed\n    feed_url: /rss\n    base_url: ftp://x.org\n",
            "sources.yaml: source #1: id: required field missing",
        ),
        (
            "sources:\n  - id: y\n    kind: html_listing\n    base_url: https://y.org\n"
            "    listing_url: /l\n    item_selector: li\n    link_pattern: '(['\n",
            "sources.yaml: source y: link_pattern: bad regular expression '(['",
        ),
        (
            "sources:\n  - id: z\n    kind: feed\n    feed_url: /rss\n    base_url: www.z.org\n",
            "sources.yaml: source z: base_url: should be an http:// or https:// URL",
        ),
        (
            "sources:\n  - id: c\n    kind: sitemap\n    base_url: https://c.az\n"
            "    sitemap_url: /s.xml\n    language_by_path: {en/: en}\n",
            "sources.yaml: source c: language_by_path: path prefixes start with '/': en/",
        ),
        ("sources: 7\n", "sources.yaml: sources: Input should be a valid list (got 7)"),
        ("- 1\n- 2\n", "sources.yaml: should be a mapping with a `sources:` list"),
        ("sources: [\n", "sources.yaml: not valid YAML: while parsing a flow node"),
    ],
)
def test_bad_settings_are_one_clear_message_not_a_traceback(tmp_path, text, problem):
    assert any(line.startswith(problem) for line in _problems(tmp_path, text))


def test_error_messages_stay_short_whatever_the_file_holds(tmp_path):
    huge = "x" * 2_000_000
    entry = "  - id: s{0}\n    kind: feed\n    base_url: https://s{0}.org\n    feed_url: [{1}]\n"
    entries = "".join(entry.format(i, huge[:50_000]) for i in range(15))
    problems = _problems(tmp_path, "sources:\n" + entries)
    assert len(problems) == 11 and problems[-1] == "... and 5 more problems"
    assert all(len(line) <= 300 for line in problems)
    with pytest.raises(ConfigError, match="larger than 1000000 bytes"):
        _load(tmp_path, f"sources: []\n# {huge}\n")


def test_a_billion_laughs_is_refused_quickly_in_little_memory(tmp_path):
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    bomb = "\n".join(lines) + "\n"
    assert len(bomb.encode()) <= 437  # the was 437 bytes: 9**9 strings once expanded
    tracemalloc.start()
    try:
        problems = _problems(tmp_path, bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert problems[0] == "sources.yaml: not valid YAML: over 100000 nodes once aliases expand"
    assert peak < 50_000_000


def test_aliases_within_bounds_are_fine(tmp_path):
    text = (
        "sources:\n"
        "  - &knot\n    id: caucasian-knot\n    kind: feed\n    base_url: https://www.kavkaz-uzel.eu\n"
        "    feed_url: /articles.rss\n    cleanup: &rules {drop_selectors: [.ad]}\n"
        "  - <<: *knot\n    id: knot-mirror\n    base_url: https://m.kavkaz-uzel.eu\n"
    )
    knot, mirror = _load(tmp_path, text)
    assert mirror.cleanup == knot.cleanup and mirror.options == knot.options


def test_duplicate_ids_are_refused(tmp_path):
    text = "sources:\n" + (FEED + "    feed_url: /rss\n") * 2
    assert _problems(tmp_path, text) == ["sources.yaml: duplicate source ids: caucasian-knot"]


def test_sources_are_typed_immutable_and_travel_to_worker_processes():
    sources = load_sources(base_url_override="")
    toutiao = select_sources(sources, ["toutiao"])[0]
    assert isinstance(toutiao.options, kinds()["json_api"])
    assert toutiao.options.cursor.param == "max_behot_time"
    with pytest.raises(FrozenInstanceError):
        toutiao.politeness.retries = 9
    with pytest.raises(ValidationError):
        toutiao.options.max_pages = 9
    assert pickle.loads(pickle.dumps(sources)) == sources


def test_settings_given_in_code_are_checked_too():
    with pytest.raises(ConfigError, match="feed_ur"):
        Source("x", "X", "feed", "https://x.org", options={"feed_ur": "/rss"})
    with pytest.raises(ValidationError):
        Politeness(delay=2)


def test_environment_overrides_still_apply(monkeypatch):
    monkeypatch.setenv("NEWSFLOW_BASE_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("NEWSFLOW_POLITENESS", "retries=0,delay_seconds=0.5")
    [knot] = select_sources(load_sources(), ["caucasian-knot"])
    assert knot.url("/articles.rss") == "http://127.0.0.1:9000/caucasian-knot/articles.rss"
    assert (knot.politeness.retries, knot.politeness.delay_seconds) == (0, 0.5)
    assert knot.politeness.timeout_seconds == 15  # the rest still from sources.yaml


def test_sources_check_passes_on_the_shipped_file_and_fetches_nothing(capsys):
    assert main(["sources", "check"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].endswith("sources, no problems found")
    assert {line.split()[0] for line in out.splitlines()[:-1]} == {
        s.id for s in load_sources(base_url_override="")
    }


def test_sources_check_reports_a_bad_file(tmp_path, capsys):
    path = tmp_path / "mine.yaml"
    path.write_text("sources:\n" + FEED + "    feed_ur: /rss\n", encoding="utf-8")
    assert main(["sources", "check", str(path)]) == 1
    assert "mine.yaml: source caucasian-knot: feed_ur: unknown field" in capsys.readouterr().err


def test_sources_schema_describes_every_kind_for_editors(capsys):
    assert main(["sources", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    entries = schema["properties"]["sources"]["items"]
    assert set(entries["discriminator"]["mapping"]) == set(kinds())
    feed = schema["$defs"]["FeedSource"]
    assert feed["additionalProperties"] is False and "feed_url" in feed["required"]
    assert schema["$defs"]["Politeness"]["properties"]["max_per_host"]["minimum"] == 1


def test_a_sources_zone_and_date_order_default_from_its_language(tmp_path):
    """A Moscow site without a timezone reads 04/10/2025 as 4 October, in Moscow time."""
    text = "sources:\n" + FEED + "    feed_url: https://www.kavkaz-uzel.eu/rss\n    language: ru\n"
    [source] = _load(tmp_path, text)
    assert source.dates.timezone == "Europe/Moscow"
    assert source.dates.order == DateOrder.DMY
    english = text.replace("language: ru", "language: en")
    assert _load(tmp_path, english)[0].dates.timezone == "UTC"
