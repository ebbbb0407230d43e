"""Search as analysts use it: `newsflow search` finds a story by any form of a word, in Chinese,
Russian, Azerbaijani, Turkish and English, in originals and translations alike, and sees every
load, reprocess and translation without a rebuild of the index."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from connectors.config import Revisit, load_sources
from connectors.records import FetchAttempt, Outcome
from flows import cli
from processing.dedup import content_hash
from processing.records import Article, Translation, UrlResult
from warehouse import store
from warehouse.interface import DuckDBWarehouse
from warehouse.loads import RunKey
from warehouse.search import NoSearchIndex, rebuild_index, refresh_index, search

NOW = datetime(2025, 10, 3, 12, 0, tzinfo=UTC)


def _article(
    url: str,
    text: str,
    language: str = "en",
    title: str = "A story",
    source_id: str = "caliber-az",
    title_en: str | None = None,
    text_en: str | None = None,
) -> Article:
    """An extracted article as the pipeline makes it: translated, or English, or pending."""
    if language == "en":
        translation = Translation("not_needed", title, text)
    elif text_en:
        translation = Translation("done", title_en, text_en, f"argos:{language}-en@1.9")
    else:
        translation = Translation("pending_model")
    return Article(
        source_id=source_id,
        url=url,
        title=title,
        text=text,
        language=language,
        fetched_at=NOW,
        content_hash=content_hash(text),
        published_at=NOW,
        translation=translation,
    )


def _ingest(warehouse: DuckDBWarehouse, *articles: Article, run: str = "r1") -> None:
    """Commit articles as one chunk of a run, as the pipeline core does after fetching them."""
    results = [
        UrlResult(
            FetchAttempt(a.source_id, a.url, Outcome.OK, NOW, 200, "text/html", text=a.text), a
        )
        for a in articles
    ]
    warehouse.commit_chunk(RunKey(run), results, lambda _: Revisit(), NOW)


TOUTIAO = [
    _article(
        "https://www.toutiao.com/article/1/",
        "俄罗斯总统普京和阿塞拜疆总统阿利耶夫在杜尚别会晤，双方讨论了两国关系。",
        "zh",
        "普京与阿塞拜疆总统会晤",
        "toutiao",
    ),
    _article(
        "https://www.toutiao.com/article/2/",
        "阿塞拜疆外交部发言人表示，巴库愿意继续对话。",
        "zh",
        "巴库表态",
        "toutiao",
    ),
    _article(
        "https://www.toutiao.com/article/3/",
        "国家统计局发布数据，上个月居民消费价格同比上涨。",
        "zh",
        "物价数据",
        "toutiao",
    ),
]
KNOT = [
    _article(
        "https://www.kavkaz-uzel.eu/articles/1/",
        "Суд в Москве приговорил журналиста к двум годам колонии.",
        "ru",
        "Приговор журналисту",
        "caucasian-knot",
    ),
    _article(
        "https://www.kavkaz-uzel.eu/articles/2/",
        "Делегация из Москвы прибыла в Баку для переговоров о границе.",
        "ru",
        "Переговоры в Баку",
        "caucasian-knot",
        title_en="Talks in Baku",
        text_en="A delegation from Moscow arrived in Baku for talks on the border.",
    ),
    _article(
        "https://www.kavkaz-uzel.eu/articles/3/",
        "Москва ответила на заявление МИД Азербайджана.",
        "ru",
        "Ответ МИД",
        "caucasian-knot",
    ),
]
CALIBER = [
    _article(
        "https://caliber.az/az/post/1",
        "Azərbaycanın xarici işlər naziri Bakıda həmkarı ilə görüşüb.",
        "az",
        "Nazirlərin görüşü",
    ),
    _article(
        "https://caliber.az/en/post/2",
        "Floods closed the bridge. The floods also cut the power line to the village.",
    ),
    _article("https://caliber.az/en/post/3", "After the flooding the market reopened on Monday."),
]
TURKISH = _article(
    "https://example.tr/1",
    "Türkiye'nin dışişleri bakanı Bakü'de görüşmeler yaptı.",
    "tr",
    "Bakanın ziyareti",
    "trt",
)


@pytest.fixture()
def warehouse(tmp_path, monkeypatch, configure):
    """A warehouse file with the three sources' stories loaded, as the settings' db."""
    path = tmp_path / "w.duckdb"
    configure(db=Path(path))
    warehouse = DuckDBWarehouse(path)
    warehouse.register_sources(load_sources())
    _ingest(warehouse, *TOUTIAO, *KNOT, *CALIBER, TURKISH)
    return warehouse


def _cli_urls(capsys, *args: str) -> list[str]:
    """URLs that `newsflow search` prints, best first."""
    assert cli.main(["search", *args]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    return [line.rsplit("<", 1)[1].rstrip(">") for line in lines]


def _search(path, query: str, **filters) -> list[str]:
    with store.connect(path, read_only=True) as conn:
        return [hit.url for hit in search(conn, query, **filters)]


def test_a_chinese_word_finds_the_chinese_articles_that_contain_it(warehouse, capsys):
    found = _cli_urls(capsys, "阿塞拜疆")
    assert sorted(found) == [TOUTIAO[0].url, TOUTIAO[1].url]


def test_a_russian_word_finds_every_inflected_form(warehouse, capsys):
    every_form = sorted(a.url for a in KNOT)
    assert sorted(_cli_urls(capsys, "Москва")) == every_form
    assert sorted(_cli_urls(capsys, "Москвы")) == every_form
    assert sorted(_cli_urls(capsys, "москве")) == every_form


def test_azerbaijani_and_turkish_suffixes_are_stemmed(warehouse, capsys):
    assert _cli_urls(capsys, "Azərbaycan") == [CALIBER[0].url]
    assert _cli_urls(capsys, "Türkiye") == [TURKISH.url]


def test_english_words_are_stemmed(warehouse, capsys):
    assert _cli_urls(capsys, "flooded") == [CALIBER[1].url, CALIBER[2].url]


def test_one_query_finds_originals_and_english_translations(warehouse, capsys):
    # "Moscow" is in the English translation of a Russian article, "Москвы" in its original.
    assert _cli_urls(capsys, "Moscow") == [KNOT[1].url]
    assert KNOT[1].url in _cli_urls(capsys, "Москвы")


def test_every_word_of_the_query_must_match_and_the_best_come_first(warehouse, capsys):
    assert _cli_urls(capsys, "floods bridge") == [CALIBER[1].url]
    assert _cli_urls(capsys, "floods volcano") == []
    assert cli.main(["search", "volcano"]) == 0
    assert "no matches" in capsys.readouterr().err


def test_filters_by_language_source_and_day(warehouse, capsys):
    assert _cli_urls(capsys, "Баку", "--lang", "ru") == [KNOT[1].url]
    assert _cli_urls(capsys, "Баку", "--lang", "zh") == []
    assert sorted(_cli_urls(capsys, "阿塞拜疆", "--source", "toutiao")) == sorted(
        [TOUTIAO[0].url, TOUTIAO[1].url]
    )
    tomorrow = (NOW.date() + timedelta(days=1)).isoformat()
    assert _cli_urls(capsys, "阿塞拜疆", "--since", tomorrow) == []


def test_a_hit_shows_score_day_source_language_and_english_title(warehouse, capsys):
    assert cli.main(["search", "Moscow"]) == 0
    line = capsys.readouterr().out.strip()
    assert "2025-10-03" in line and "caucasian-knot" in line and "ru " in line
    assert "Talks in Baku" in line


def test_new_loads_are_searchable_at_once(warehouse):
    _ingest(warehouse, _article("https://caliber.az/en/post/9", "Volcano ash over the valley."))
    assert _search(warehouse.path, "volcano") == ["https://caliber.az/en/post/9"]


def test_an_exact_duplicate_is_not_a_second_hit(warehouse):
    repost = replace(CALIBER[1], url="https://other.example/floods", source_id="toutiao")
    _ingest(warehouse, repost, run="r2")
    assert _search(warehouse.path, "bridge") == [CALIBER[1].url]


def test_a_revision_a_chunk_commits_is_reindexed(warehouse):
    # the chunk's refresh reads only the chunk's articles: the revised one among them
    text = "The bridge reopened after the volcano calmed."
    revised = replace(
        CALIBER[1],
        text=text,
        content_hash=content_hash(text),
        translation=Translation("not_needed", CALIBER[1].title, text),
    )
    _ingest(warehouse, revised, run="r2")
    assert _search(warehouse.path, "volcano") == [CALIBER[1].url]
    with store.connect(warehouse.path) as conn:
        incremental = [search(conn, q) for q in ("volcano", "bridge", "floods")]
        rebuild_index(conn)
        assert [search(conn, q) for q in ("volcano", "bridge", "floods")] == incremental


def test_a_load_whose_refresh_never_ran_is_indexed_by_the_next_chunk(warehouse):
    from warehouse import loads

    lost = _article("https://caliber.az/en/post/10", "Glacier melt in the mountains.")
    results = [UrlResult(FetchAttempt(lost.source_id, lost.url, Outcome.OK, NOW, 200), lost)]
    with store.connect(warehouse.path) as conn:  # a load, then a crash before its hooks
        loads.commit_chunk(conn, RunKey("r2"), results, lambda _: Revisit(), NOW)
    assert _search(warehouse.path, "glacier") == []
    _ingest(warehouse, _article("https://caliber.az/en/post/11", "Volcano ash."), run="r3")
    assert _search(warehouse.path, "glacier") == [lost.url]
    assert _search(warehouse.path, "volcano") == ["https://caliber.az/en/post/11"]


def test_reprocessed_articles_are_reindexed(warehouse):
    fresh = replace(KNOT[0], text="Суд в Казани вынес приговор.", content_hash=content_hash("x"))
    assert warehouse.replace_articles([fresh]) == 1
    assert KNOT[0].url not in _search(warehouse.path, "Москва")
    assert _search(warehouse.path, "Казани") == [KNOT[0].url]


def test_a_translation_made_later_becomes_searchable(warehouse):
    with store.connect(warehouse.path) as conn:
        assert KNOT[2].url not in _search_in(conn, "Moscow")
        conn.execute(
            "UPDATE articles SET text_en = 'Moscow answered the statement.', "
            "title_en = 'Answer', translation_status = 'done', "
            "translation_model = 'argos:ru-en@1.9' WHERE url = ?",
            [KNOT[2].url],
        )
        refresh_index(conn)
        assert KNOT[2].url in _search_in(conn, "Moscow")


def _search_in(conn: duckdb.DuckDBPyConnection, query: str) -> list[str]:
    return [hit.url for hit in search(conn, query)]


def test_a_refresh_that_finds_nothing_new_changes_nothing(warehouse):
    with store.connect(warehouse.path) as conn:
        before = conn.execute("SELECT count(*) FROM search_postings").fetchone()
        assert refresh_index(conn).indexed == 0
        assert conn.execute("SELECT count(*) FROM search_postings").fetchone() == before


def test_the_incremental_index_ranks_like_a_full_rebuild(warehouse):
    _ingest(warehouse, _article("https://caliber.az/en/post/7", "More floods are expected."))
    queries = ["floods", "Москва", "阿塞拜疆", "Baku"]
    with store.connect(warehouse.path) as conn:
        incremental = [search(conn, q) for q in queries]
        assert rebuild_index(conn).indexed == 11
        assert [search(conn, q) for q in queries] == incremental


def test_search_needs_no_write_access(warehouse):
    conn = duckdb.connect(
        str(warehouse.path),
        read_only=True,
        config={"enable_external_access": False, "autoinstall_known_extensions": False},
    )
    try:
        conn.execute("SET lock_configuration = true")
        assert [h.url for h in search(conn, "Москвы")]
    finally:
        conn.close()


def test_an_empty_warehouse_says_to_load_articles_first(tmp_path):
    with store.connect(tmp_path / "w.duckdb") as conn, pytest.raises(NoSearchIndex):
        search(conn, "floods")


# --- the fixture site, ingested by the flow ---------------------------------------------------


@pytest.fixture(scope="module")
def ingested(prefect_api, pointed_at_site):
    """The bundled sites ingested by the ingest flow, as `newsflow demo` does."""
    from flows.ingest import ingest

    ingest(failure_threshold=1.0)  # the site's bad pages fail on purpose
    return pointed_at_site


def test_the_demo_sites_chinese_and_russian_articles_are_found_by_any_form(ingested, capsys):
    toutiao = _cli_urls(capsys, "阿塞拜疆", "--source", "toutiao")
    assert len(toutiao) == 5  # every Toutiao story names Azerbaijan, most in the title
    moscow = sorted(_cli_urls(capsys, "Москва", "--lang", "ru"))
    assert len(moscow) == 3
    assert sorted(_cli_urls(capsys, "Москвы", "--lang", "ru")) == moscow
